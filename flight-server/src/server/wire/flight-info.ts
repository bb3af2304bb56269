/** ListFlights, GetFlightInfo and GetSchema: planning queries into endpoints and tickets. */
import { encodeSchema, type FlightDescriptor, type FlightInfo } from '@flightdeck/proto';
import type { DatasetStore } from '../../storage/dataset-store.js';
import type { ReadPlan } from '../../storage/read/read-plan.js';
import { wholeDataset } from '@flightdeck/contract';
import { queryOfDescriptor } from './descriptor.js';
import { encodeTicket } from './ticket.js';
import { NO_LOCATIONS, type EndpointLocations } from './endpoint-locations.js';

export function flightInfoOf(descriptor: FlightDescriptor, plan: ReadPlan, locations: EndpointLocations = NO_LOCATIONS): FlightInfo {
  const where = locations.assign(plan.endpoints.length);
  return {
    schema: Buffer.from(encodeSchema(plan.schema)),
    flightDescriptor: descriptor,
    endpoint: plan.endpoints.map((e, i) => ({
      ticket: { ticket: encodeTicket(e.slice) },
      location: where[i]!,
      expirationTime: null,
      appMetadata: Buffer.alloc(0),
    })),
    totalRecords: plan.totalRecords,
    totalBytes: plan.totalBytes,
    ordered: plan.ordered,
    appMetadata: Buffer.alloc(0),
  };
}

export async function getFlightInfo(
  store: DatasetStore,
  descriptor: FlightDescriptor,
  locations: EndpointLocations = NO_LOCATIONS,
): Promise<{ info: FlightInfo; plan: ReadPlan }> {
  const query = queryOfDescriptor(descriptor);
  const plan = await store.plan(query);
  return { info: flightInfoOf(descriptor, plan, locations), plan };
}

export async function listFlights(store: DatasetStore, locations: EndpointLocations = NO_LOCATIONS): Promise<FlightInfo[]> {
  const infos: FlightInfo[] = [];
  for (const m of store.listDatasets()) {
    const descriptor: FlightDescriptor = { type: 'PATH', cmd: Buffer.alloc(0), path: [m.name] };
    infos.push(flightInfoOf(descriptor, await store.plan(wholeDataset(m.name)), locations));
  }
  return infos;
}
