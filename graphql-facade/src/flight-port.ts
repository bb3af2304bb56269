/**
 * What the facade needs of a Flight client: the subset of `FlightClient` it calls. Tests pass a
 * wrapper that counts calls; production passes a `FlightClient`.
 */
import type { FlightClient } from '@flightdeck/proto';

export type FlightPort = Pick<FlightClient, 'readTable' | 'doActionJson' | 'listFlights'>;

export type { DatasetDescription } from '@flightdeck/contract';
