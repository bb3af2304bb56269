/**
 * Live bars: `Subscription.barUpdates(dataset, symbols)` over the graphql-ws protocol at the
 * gateway's `ws://…/graphql`. One socket, opened when the first feed is watched; each named feed
 * (the open chart, the watchlists) is one subscription, replaced when its symbols change. A lost
 * connection is retried with backoff; while it is down the page says live updates are unavailable.
 */
import { createClient, type Client } from 'graphql-ws';

export interface LiveBar {
  symbol: string;
  ts: string;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number | null;
}

export interface LiveStatus {
  connected(): void;
  /** The feed or the connection failed, in words. */
  unavailable(message: string): void;
}

const MAX_RETRY_WAIT_MS = 10_000;

function describe(err: unknown): string {
  if (Array.isArray(err)) return err.map((e: { message?: string }) => e.message ?? String(e)).join('; ');
  if (err instanceof Error) return err.message;
  if (typeof CloseEvent !== 'undefined' && err instanceof CloseEvent) return `connection closed (${err.code}${err.reason ? `: ${err.reason}` : ''})`;
  if (typeof Event !== 'undefined' && err instanceof Event) return 'could not connect';
  return String(err);
}

export class LiveUpdates {
  private client: Client | undefined;
  private readonly feeds = new Map<string, { key: string; dispose: () => void }>();

  constructor(
    private readonly url: string,
    private readonly status: LiveStatus,
  ) {}

  /** Watches `symbols` of `dataset` as feed `name` (replacing what that feed watched); no symbols stops it. */
  watch(name: string, dataset: string | undefined, symbols: readonly string[], onBar: (bar: LiveBar) => void): void {
    const unique = [...new Set(symbols)].sort();
    const key = JSON.stringify([dataset ?? null, unique]);
    const current = this.feeds.get(name);
    if (current?.key === key) return;
    current?.dispose();
    this.feeds.delete(name);
    if (unique.length === 0) return;
    const dispose = this.connection().subscribe<{ barUpdates: LiveBar }>(
      {
        query: `subscription ExplorerBarUpdates($dataset: String, $symbols: [String!]!) {
          barUpdates(dataset: $dataset, symbols: $symbols) { symbol ts open high low close volume }
        }`,
        variables: { dataset, symbols: unique },
      },
      {
        next: (value) => {
          if (value.data?.barUpdates) onBar(value.data.barUpdates);
          else if (value.errors?.length) this.status.unavailable(describe(value.errors));
        },
        error: (err) => {
          this.status.unavailable(describe(err));
          if (this.feeds.get(name)?.key === key) this.feeds.delete(name);
        },
        complete: () => undefined,
      },
    );
    this.feeds.set(name, { key, dispose });
  }

  private connection(): Client {
    this.client ??= createClient({
      url: this.url,
      lazy: true,
      retryAttempts: Number.MAX_SAFE_INTEGER,
      shouldRetry: () => true,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(MAX_RETRY_WAIT_MS, 500 * 2 ** retries))),
      on: {
        connected: () => this.status.connected(),
        closed: (event) => {
          if (this.feeds.size > 0) this.status.unavailable(describe(event));
        },
      },
    });
    return this.client;
  }
}
