/**
 * Tickets: opaque bytes issued by GetFlightInfo. Ours are `fd1:` + base64url(JSON) naming the
 * query (pinned to a committed version) and the partitions of one endpoint. A plain query JSON
 * is accepted as a ticket too (the contract allows it).
 */
import { z } from 'zod';
import { StorageError } from '../../storage/errors.js';
import { describeZodError, parseQuery, queryFromJson, queryToJson, type ReadQuery } from '@flightdeck/contract';
import type { ReadSlice } from '../../storage/read/read-plan.js';

const PREFIX = 'fd1:';

const ticketSchema = z.strictObject({
  q: z.record(z.string(), z.unknown()),
  p: z.array(z.string()).nullable(),
});

export function encodeTicket(slice: ReadSlice): Buffer {
  const body = JSON.stringify({ q: queryToJson(slice.query), p: slice.partitions });
  return Buffer.from(PREFIX + Buffer.from(body, 'utf8').toString('base64url'), 'utf8');
}

/** A decoded ticket: a pinned slice, or a bare query that the caller plans as one endpoint. */
export type DecodedTicket = { kind: 'slice'; slice: ReadSlice } | { kind: 'query'; query: ReadQuery };

export function decodeTicket(bytes: Uint8Array): DecodedTicket {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const head = buf.subarray(0, PREFIX.length).toString('latin1');
  if (head === PREFIX) {
    const text = buf.subarray(PREFIX.length).toString('latin1');
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new StorageError('INVALID_ARGUMENT', 'ticket is malformed: not base64url after "fd1:"');
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    } catch {
      throw new StorageError('INVALID_ARGUMENT', 'ticket is malformed: its payload is not JSON');
    }
    const parsed = ticketSchema.safeParse(raw);
    if (!parsed.success) throw new StorageError('INVALID_ARGUMENT', describeZodError(parsed.error, 'ticket'));
    // A follow ticket is pinned to the version it was planned at, which a client's query may not name.
    const { follow, ...fields } = parsed.data.q;
    if (follow !== undefined && follow !== true) throw new StorageError('INVALID_ARGUMENT', 'ticket is malformed: field "follow" must be true');
    const query = queryFromJson(fields);
    if (query.asOf === null) throw new StorageError('INVALID_ARGUMENT', 'ticket is malformed: it names no version');
    return { kind: 'slice', slice: { query: { ...query, asOf: query.asOf, ...(follow === true ? { follow: true } : {}) }, partitions: parsed.data.p } };
  }
  const firstChar = buf.toString('latin1', 0, Math.min(buf.length, 64)).trimStart()[0];
  if (firstChar === '{') return { kind: 'query', query: parseQuery(bytes) };
  throw new StorageError('INVALID_ARGUMENT', 'ticket is neither a flightdeck ticket (fd1:...) nor a query JSON object');
}
