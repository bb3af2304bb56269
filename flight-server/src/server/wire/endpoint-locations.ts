/**
 * Endpoint locations (README, "Run several replicas"): each endpoint of a FlightInfo lists every
 * live replica's FLIGHT_ADVERTISE_URL, rotated so that consecutive endpoints start at different
 * replicas, and each answer starts one further than the last (a query of one endpoint does not
 * send every client to the same replica). A client reads an endpoint from its first location and
 * fails over to the next. Without FLIGHT_ADVERTISE_URL there are no URLs and no locations.
 */
import type { Location } from '@flightdeck/proto';

export class EndpointLocations {
  private next = 0;

  /** `liveUrls`: the live replicas' URLs in a stable order (empty: no locations). */
  constructor(private readonly liveUrls: () => readonly string[]) {}

  /** The locations of each of `count` endpoints. */
  assign(count: number): Location[][] {
    const urls = this.liveUrls();
    const n = urls.length;
    if (n === 0) return Array.from({ length: count }, () => []);
    const base = this.next;
    this.next = (this.next + 1) % n;
    return Array.from({ length: count }, (_, i) => {
      const start = (base + i) % n;
      return [...urls.slice(start), ...urls.slice(0, start)].map((uri) => ({ uri }));
    });
  }
}

/** No FLIGHT_ADVERTISE_URL: endpoints carry no location. */
export const NO_LOCATIONS = new EndpointLocations(() => []);
