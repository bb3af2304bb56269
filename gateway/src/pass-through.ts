/**
 * The gateway's byte pass-through for operations one subgraph answers whole.
 *
 * single-subgraph.ts already skips the query planner for them, but Apollo Server still parses the
 * subgraph's JSON answer and serializes it again: for a day of 1,440 bars (~200 kB) or a week's
 * `series` that is most of the gateway's CPU per request (a profile of `bench/src/gateway-latency.ts`
 * showed JSON parse, stringify and the copies between them ahead of everything else). Here the
 * client's JSON request goes to the subgraph as it was sent and the subgraph's answer goes back as
 * bytes, untouched, when it has no errors. An answer with errors (Apollo Server writes `errors`
 * first, so only its first bytes are looked at) is rewritten as Apollo Gateway writes it:
 * `extensions.serviceName` added, `locations` dropped, and for a refused request (non-2xx) the
 * subgraph's status (a 5xx: 502) and no `data` (see subgraph-data-source.ts).
 *
 * A subgraph that cannot be reached gets 502 and one SERVICE_UNAVAILABLE error naming it
 * (`serviceName`, the cause), nothing executed. Anything else unusual is left to Apollo Server,
 * which repeats the request on its own path: a body that is not a plain
 * `{query, variables?, operationName?}`, an operation the planner must see, a subgraph answering
 * something that is not a GraphQL JSON response. Only queries are passed through, so asking
 * twice changes nothing.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { GraphQLFormattedError } from 'graphql';
import { startsWithErrors, type ForwardedResponse, type ForwardRequest } from '@flightdeck/graphql-http';

const JSON_TYPE = /^application\/(graphql-response\+)?json/i;

export interface PassThroughOptions {
  /** The subgraph answering the query whole (single-subgraph.ts), or undefined. */
  routeOf(query: string, operationName: string | undefined): string | undefined;
  /** The URL of a subgraph by name (its data source's), or undefined when not known yet. */
  urlOf(name: string): string | undefined;
}

interface PlainRequest {
  query: string;
  operationName: string | undefined;
}

/** The request when it is exactly `{query, variables?, operationName?}` with the right types. */
function plainRequest(body: unknown): PlainRequest | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { query, variables, operationName, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof query !== 'string') return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return undefined;
  return { query, operationName: operationName ?? undefined };
}

function wellFormedErrors(value: unknown): GraphQLFormattedError[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const ok = value.every((e) => e !== null && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string');
  return ok ? (value as GraphQLFormattedError[]) : undefined;
}

/** A subgraph error as Apollo Gateway writes it (single-subgraph.ts `downstreamError`, formatted). */
function gatewayError(error: GraphQLFormattedError, serviceName: string): GraphQLFormattedError {
  const extensions: Record<string, unknown> = { ...error.extensions, serviceName };
  if (extensions.code === undefined) extensions.code = 'DOWNSTREAM_SERVICE_ERROR';
  return {
    message: error.message || `Error while fetching subquery from service "${serviceName}"`,
    ...(error.path === undefined ? {} : { path: error.path }),
    extensions,
  };
}

export interface PassThrough {
  forward(request: ForwardRequest): Promise<ForwardedResponse | undefined>;
  /** Requests answered here so far. */
  readonly forwarded: number;
  /** Closes the kept-alive connections to the subgraphs. */
  close(): void;
}

interface SubgraphAnswer {
  status: number;
  contentType: string;
  bytes: Uint8Array;
}

/**
 * POSTs `body` to `url` over node:http(s) on kept-alive connections. Not `fetch`: on a subgraph's
 * answer of 150 kB to 1 MB, undici's fetch (WHATWG streams, then `arrayBuffer()`) cost 0.9-3.3 ms
 * per request against 0.2-1.1 ms for this, client and server CPU together 1.4-4.4 ms against
 * 0.2-1.4 ms (a loopback micro-benchmark, 300 requests each, alternating).
 */
function post(url: URL, agents: { http: HttpAgent; https: HttpsAgent }, headers: Record<string, string>, body: string, retried = false): Promise<SubgraphAnswer> {
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', agent: https ? agents.https : agents.http, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', bytes: Buffer.concat(chunks) }));
      res.once('error', reject);
      // A connection cut mid-answer ends the response with `aborted` rather than an error.
      res.once('aborted', () => reject(new Error('the connection closed before the answer ended')));
    });
    req.once('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive connection the subgraph closed as it was reused: ask once more on a new one
      // (only queries come here, so asking twice changes nothing; the Node docs' own advice).
      if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) post(url, agents, headers, body, true).then(resolve, reject);
      else reject(err);
    });
    req.end(body);
  });
}

export function passThrough(options: PassThroughOptions): PassThrough {
  let forwarded = 0;
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  const forward = async ({ body, text, headers, scope }: ForwardRequest): Promise<ForwardedResponse | undefined> => {
    const started = performance.now();
    const request = plainRequest(body);
    if (request === undefined) return undefined;
    const serviceName = options.routeOf(request.query, request.operationName);
    const url = serviceName === undefined ? undefined : options.urlOf(serviceName);
    if (serviceName === undefined || url === undefined) return undefined;

    let status: number;
    let contentType: string;
    let bytes: Uint8Array;
    try {
      // The client's Accept: Apollo Server picks the answer's media type (and some statuses) by it.
      const answer = await post(new URL(url), agents, { 'content-type': 'application/json', accept: headers.get('accept') ?? 'application/json', 'x-request-id': scope.reqId }, text);
      ({ status, contentType, bytes } = answer);
    } catch (err) {
      // Nothing was executed: say which subgraph, and why, as the subscription proxy does.
      const cause = (err as Error).message;
      const error = { message: `subgraph "${serviceName}" could not be reached: ${cause}`, extensions: { code: 'SERVICE_UNAVAILABLE', serviceName } };
      scope.log.warn({ subgraph: serviceName, url, error: cause }, 'subgraph unreachable');
      return { status: 502, contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify({ errors: [error] })) };
    }
    if (!JSON_TYPE.test(contentType)) return undefined;

    const ok = status >= 200 && status < 300;
    let answer: ForwardedResponse;
    let errors: GraphQLFormattedError[] = [];
    if (ok && !startsWithErrors(bytes)) {
      answer = { status, contentType, body: bytes };
    } else {
      let parsed: { errors?: unknown; data?: unknown };
      try {
        parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as typeof parsed;
      } catch {
        return undefined;
      }
      const subgraphErrors = wellFormedErrors(parsed?.errors);
      if (subgraphErrors === undefined) {
        if (!ok) return undefined;
        answer = { status, contentType, body: bytes };
      } else {
        errors = subgraphErrors.map((e) => gatewayError(e, serviceName));
        const out = ok ? { errors, data: parsed.data ?? null } : { errors };
        answer = { status: ok ? status : status >= 500 ? 502 : status, contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(out)) };
      }
    }
    forwarded++;
    scope.log.info(
      {
        operationName: request.operationName,
        subgraph: serviceName,
        passThrough: true,
        errors: errors.length,
        codes: errors.length > 0 ? [...new Set(errors.map((e) => e.extensions?.code))] : undefined,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      },
      'graphql request',
    );
    return answer;
  };

  return {
    forward,
    get forwarded() {
      return forwarded;
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
