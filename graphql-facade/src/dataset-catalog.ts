/**
 * describe_dataset answers, cached per process for a few seconds. A dataset's time and key columns
 * never change and columns are only ever added, so a slightly stale description is safe for planning
 * bar reads and the `latest` windows (which leave their upper end open); `datasets` asks fresh.
 */
import type { DatasetDescription, FlightPort } from './flight-port.js';

export const DEFAULT_CATALOG_TTL_MS = 5000;
const MAX_ENTRIES = 1000;

export class DatasetCatalog {
  readonly #flight: FlightPort;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { at: number; description: Promise<DatasetDescription> }>();

  constructor(flight: FlightPort, ttlMs = DEFAULT_CATALOG_TTL_MS) {
    this.#flight = flight;
    this.#ttlMs = ttlMs;
  }

  /** The description, from the cache when younger than the TTL (or `fresh`: always asked). */
  describe(name: string, opts: { fresh?: boolean } = {}): Promise<DatasetDescription> {
    const now = Date.now();
    const hit = this.#entries.get(name);
    if (!opts.fresh && hit && now - hit.at < this.#ttlMs) return hit.description;
    const description = this.#flight.doActionJson<DatasetDescription>('describe_dataset', { name });
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(name, { at: now, description });
    description.catch(() => {
      if (this.#entries.get(name)?.description === description) this.#entries.delete(name);
    });
    return description;
  }

  /** Forgets a dataset, e.g. after a read refused a column the cached schema named. */
  invalidate(name: string): void {
    this.#entries.delete(name);
  }
}
