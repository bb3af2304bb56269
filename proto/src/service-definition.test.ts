import { describe, expect, it } from 'vitest';
import type { FlightInfo, PollInfo } from './messages.js';
import { flightServiceDefinition } from './service-definition.js';
import { deserializeFlightData, serializeFlightData } from './wire/flight-data.js';
import { pathDescriptor } from './wire/flight-descriptor.js';

describe('flightServiceDefinition', () => {
  it('declares every FlightService call with its path and streaming shape', () => {
    const shape = Object.fromEntries(
      Object.entries(flightServiceDefinition).map(([name, m]) => [name, [m.path, m.requestStream, m.responseStream]]),
    );
    const p = (name: string): string => `/arrow.flight.protocol.FlightService/${name}`;
    expect(shape).toEqual({
      Handshake: [p('Handshake'), true, true],
      ListFlights: [p('ListFlights'), false, true],
      GetFlightInfo: [p('GetFlightInfo'), false, false],
      PollFlightInfo: [p('PollFlightInfo'), false, false],
      GetSchema: [p('GetSchema'), false, false],
      DoGet: [p('DoGet'), false, true],
      DoPut: [p('DoPut'), true, true],
      DoExchange: [p('DoExchange'), true, true],
      DoAction: [p('DoAction'), false, true],
      ListActions: [p('ListActions'), false, true],
    });
  });

  it('uses the hand-written codec wherever FlightData travels', () => {
    const { DoGet, DoPut, DoExchange, GetFlightInfo } = flightServiceDefinition;
    expect(DoGet.responseSerialize).toBe(serializeFlightData);
    expect(DoGet.responseDeserialize).toBe(deserializeFlightData);
    expect(DoPut.requestSerialize).toBe(serializeFlightData);
    expect(DoPut.requestDeserialize).toBe(deserializeFlightData);
    expect(DoExchange.requestSerialize).toBe(serializeFlightData);
    expect(DoExchange.responseDeserialize).toBe(deserializeFlightData);
    expect(GetFlightInfo.responseSerialize).not.toBe(serializeFlightData);
  });

  it('round-trips FlightInfo and PollInfo with camelCase fields, int64 as number, Timestamp', () => {
    const info: FlightInfo = {
      schema: Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]),
      flightDescriptor: pathDescriptor('bars'),
      endpoint: [
        {
          ticket: { ticket: Buffer.from('t1') },
          location: [{ uri: 'grpc://127.0.0.1:8815' }],
          expirationTime: { seconds: 1_704_186_000, nanos: 5 },
          appMetadata: Buffer.from('m'),
        },
      ],
      totalRecords: 5_000_000_000,
      totalBytes: -1,
      ordered: true,
      appMetadata: Buffer.alloc(0),
    };
    const { GetFlightInfo, PollFlightInfo } = flightServiceDefinition;
    const decoded = GetFlightInfo.responseDeserialize(GetFlightInfo.responseSerialize(info));
    expect(decoded).toMatchObject({
      totalRecords: 5_000_000_000,
      totalBytes: -1,
      ordered: true,
      flightDescriptor: { type: 'PATH', path: ['bars'] },
      endpoint: [{ location: [{ uri: 'grpc://127.0.0.1:8815' }], expirationTime: { seconds: 1_704_186_000, nanos: 5 } }],
    });
    expect(Buffer.from(decoded.endpoint[0]!.ticket!.ticket).toString()).toBe('t1');

    const poll: PollInfo = { info, flightDescriptor: null, progress: 0.5, expirationTime: null };
    const decodedPoll = PollFlightInfo.responseDeserialize(PollFlightInfo.responseSerialize(poll));
    expect(decodedPoll.progress).toBe(0.5);
    expect(decodedPoll.info?.totalRecords).toBe(5_000_000_000);
  });
});
