/**
 * Request metrics of a GraphQL process, served at `GET /metrics` (Prometheus text): requests by
 * route and HTTP status, GraphQL errors by `extensions.code`, and request durations. One
 * registry per server, so several processes in one test never mix their counts.
 */
import type { ServerResponse } from 'node:http';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const ERRORS_FIRST = '{"errors":';
const ERRORS_FIRST_BYTES = Buffer.from(ERRORS_FIRST);

/**
 * Whether a complete GraphQL response body carries errors. Apollo Server writes `errors` first
 * (`{"errors":[…],"data":…}`), so only the first bytes are looked at: a large answer is never scanned.
 */
export function startsWithErrors(body: string | Uint8Array): boolean {
  if (typeof body === 'string') return body.startsWith(ERRORS_FIRST);
  if (body.byteLength < ERRORS_FIRST_BYTES.byteLength) return false;
  for (let i = 0; i < ERRORS_FIRST_BYTES.byteLength; i++) if (body[i] !== ERRORS_FIRST_BYTES[i]) return false;
  return true;
}

export class HttpMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'flightdeck_graphql_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'flightdeck_graphql_errors_total',
    help: 'GraphQL errors in responses, by extensions.code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'flightdeck_graphql_request_duration_seconds',
    help: 'Duration of /graphql requests',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }

  observe(route: string, status: number, seconds: number | null): void {
    this.requests.inc({ route, status: String(status) });
    if (seconds !== null) this.duration.observe(seconds);
  }

  /** Answers `GET /metrics`. */
  async send(res: ServerResponse): Promise<void> {
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType });
    res.end(text);
  }

  /**
   * Counts the error codes of a complete GraphQL response body. Apollo Server writes `errors`
   * first (`{"errors":[…],"data":…}`), so a body that does not start so has none: a large answer
   * is neither scanned nor parsed again.
   */
  countErrors(body: string | Uint8Array): void {
    if (!startsWithErrors(body)) return;
    try {
      const parsed = JSON.parse(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as { errors?: { extensions?: { code?: unknown } }[] };
      for (const e of parsed.errors ?? []) this.errors.inc({ code: typeof e.extensions?.code === 'string' ? e.extensions.code : 'UNKNOWN' });
    } catch {
      // Not JSON: nothing to count.
    }
  }
}
