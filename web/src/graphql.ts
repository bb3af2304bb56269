/**
 * GraphQL over HTTP to the gateway the page came from (`POST /graphql`, same origin). A failure
 * becomes a {@link GraphQLRequestError} whose message says in words which service is unavailable
 * or what could not be loaded; partial answers (data and errors) are returned as they are.
 */

export interface GraphQLErrorEntry {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; serviceName?: string; [key: string]: unknown };
}

export interface GraphQLAnswer<T> {
  data: T;
  errors: GraphQLErrorEntry[];
}

/** `unreachable`: no HTTP answer; `service`: a subgraph behind the gateway failed; `refused`: the request was at fault. */
export type FaultKind = 'unreachable' | 'service' | 'refused';

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly kind: FaultKind,
    readonly codes: readonly string[] = [],
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

/** Codes of errors the request caused; anything else from a subgraph means the subgraph is in trouble. */
const REQUEST_FAULTS = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST']);

const SERVICE_NAMES: Record<string, string> = {
  financial: 'market data (GraphQL facade)',
  users: 'user service',
};

/** What to call the service an error came from, in words. */
export function serviceLabel(serviceName: string | undefined): string {
  return (serviceName !== undefined ? SERVICE_NAMES[serviceName] : undefined) ?? (serviceName ? `subgraph ${serviceName}` : 'GraphQL gateway');
}

/** Whether an error entry means a service is down or failing rather than a bad request. */
export function isServiceFault(entry: GraphQLErrorEntry): boolean {
  const code = entry.extensions?.code;
  return code === undefined || !REQUEST_FAULTS.has(code);
}

/**
 * One sentence for a list of GraphQL errors: "market data (GraphQL facade) unavailable: …" or the
 * refusal itself. The gateway names the subgraph (`extensions.serviceName`) only for errors the
 * subgraph sent; one it could not reach at all comes without a name, so the caller says which
 * subgraph its operation reads (`financial`, `users`).
 */
export function describeErrors(errors: readonly GraphQLErrorEntry[], service?: string): { message: string; kind: FaultKind } {
  const failing = errors.find(isServiceFault);
  if (failing !== undefined) {
    return { message: `${serviceLabel(failing.extensions?.serviceName ?? service)} unavailable: ${failing.message}`, kind: 'service' };
  }
  return { message: errors.map((e) => e.message).join('; '), kind: 'refused' };
}

export class GraphQLClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 20_000,
  ) {}

  /**
   * Runs one operation; rejects unless the answer carries data (errors beside data are returned).
   * `service` names the subgraph the operation reads, for errors that do not say.
   */
  async request<T>(query: string, variables: Record<string, unknown> = {}, service?: string): Promise<GraphQLAnswer<T>> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const why = err instanceof DOMException && err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs / 1000} s` : (err as Error).message;
      throw new GraphQLRequestError(`GraphQL gateway unavailable (${why})`, 'unreachable');
    }
    let body: { data?: T | null; errors?: GraphQLErrorEntry[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new GraphQLRequestError(`GraphQL gateway unavailable (HTTP ${response.status} ${response.statusText}, not a GraphQL answer)`, 'unreachable');
    }
    const errors = Array.isArray(body.errors) ? body.errors : [];
    if (body.data === undefined || body.data === null) {
      if (errors.length === 0) throw new GraphQLRequestError(`GraphQL gateway answered HTTP ${response.status} without data`, 'unreachable');
      const { message, kind } = describeErrors(errors, service);
      throw new GraphQLRequestError(message, kind, errors.map((e) => e.extensions?.code ?? 'UNKNOWN'));
    }
    return { data: body.data, errors };
  }
}
