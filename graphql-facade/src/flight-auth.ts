/**
 * Flight credentials for the facade: with FLIGHT_USER/FLIGHT_PASSWORD set, the facade does the
 * contract's basic-auth Handshake before its first call and again whenever a call is refused as
 * UNAUTHENTICATED (bearer tokens expire), retrying that call once.
 */
import { FlightError, type ClientFlightInfo, type FlightClient } from '@flightdeck/proto';
import type { FlightPort } from './flight-port.js';

/** `inner`: the calls made once `client` holds a token (default: the client's own; replica-reads.ts: on the replicas). */
export function authenticatedFlight(client: FlightClient, user: string, password: string, inner: FlightPort = client): FlightPort {
  let handshake: Promise<string> | undefined;
  const ensure = (): Promise<string> => {
    handshake ??= client.handshake(user, password).catch((err: unknown) => {
      handshake = undefined;
      throw err;
    });
    return handshake;
  };
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    const used = await ensure();
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof FlightError) || err.code !== 'UNAUTHENTICATED') throw err;
      if (handshake !== undefined && (await handshake) === used) handshake = undefined;
      await ensure();
      return run();
    }
  };
  return {
    readTable: (ticket) => call(() => inner.readTable(ticket)),
    doActionJson: <T>(type: string, body?: object | string) => call(() => inner.doActionJson<T>(type, body)),
    listFlights: (expression) =>
      (async function* () {
        const infos = await call(async () => {
          const all: ClientFlightInfo[] = [];
          for await (const info of inner.listFlights(expression)) all.push(info);
          return all;
        });
        yield* infos;
      })(),
  };
}
