/**
 * DoGet: a ticket's rows as FlightData. Served by grpc-js, or on node:http2 directly by
 * transport/http2-doget.ts, which calls this same handler with a stand-in call object.
 */
import type * as grpc from '@grpc/grpc-js';
import { bodyLengthOf, encodeFlightData, type FlightData, type Ticket } from '@flightdeck/proto';
import type { SliceData } from '../../storage/read/read-plan.js';
import { MAX_BYTES_IN_FLIGHT, writeWithBackpressure } from '../transport/stream-write.js';
import { forwardIpcStreams } from '../wire/ipc-forward.js';
import { decodeTicket } from '../wire/ticket.js';
import { countRows, serverStreamHandler, type HandlerContext } from './call-runner.js';
import { followQuery } from './do-get-follow.js';

/** Record batches are split into messages of about this size (pyarrow handles 1-4 MiB best). */
const MAX_SEND_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * What a DoGet stream holds at most: its read window (decoded rows of its files and the rows
 * merged from them) plus its unflushed messages, which never exceed MAX_BYTES_IN_FLIGHT nor,
 * for a small read, the read itself.
 */
function streamReservation(data: SliceData): number {
  return data.memoryBytes + Math.min(MAX_BYTES_IN_FLIGHT, data.estimatedBytes);
}

function dataBytes(m: FlightData): number {
  return m.dataHeader.byteLength + bodyLengthOf(m);
}

export function doGet(ctx: HandlerContext): grpc.handleServerStreamingCall<Ticket, FlightData> {
  const { store, gate } = ctx;
  return serverStreamHandler<Ticket, FlightData>(ctx, 'DoGet', async (call, log) => {
    const ticket = decodeTicket(call.request.ticket);
    const asked = ticket.kind === 'slice' ? ticket.slice.query : ticket.query;
    if (asked.follow === true) {
      log.dataset = asked.dataset;
      // One stream from the version current now: a follow ticket's pinned version is only where GetFlightInfo planned it.
      return followQuery(ctx, call, log, { ...asked, asOf: null });
    }
    const slice =
      ticket.kind === 'slice' ? ticket.slice : { query: { ...ticket.query, asOf: (await store.plan(ticket.query)).version }, partitions: null };
    log.dataset = slice.query.dataset;
    // Nothing is read yet: the read is planned, and reserves what it can hold before it starts.
    const data = await store.read(slice);
    const lease = await gate.streamMemory.acquire(streamReservation(data), call);
    try {
      const onRows = (rows: number) => {
        log.rows += rows;
        gate.checkGetRows(log.rows);
      };
      const messages =
        data.kind === 'ipc'
          ? forwardIpcStreams(data.schema, data.streams, onRows)
          : encodeFlightData(countRows(data.batches, onRows), { schema: data.schema, maxMessageBytes: MAX_SEND_MESSAGE_BYTES });
      try {
        await writeWithBackpressure(call, messages, (m) => {
          log.bytes += dataBytes(m);
        });
      } finally {
        await messages.return(undefined);
      }
    } finally {
      lease.release();
    }
  });
}
