import { describe, expect, it } from 'vitest';
import { decodeTicket, encodeTicket } from './ticket.js';
import { parseQuery } from '@flightdeck/contract';

/**
 * Fixed fixtures: tickets already handed to clients must keep decoding. Changing the ticket or
 * query format without changing these fixtures must fail here.
 */
const FIXTURE_SLICE = {
  query: {
    dataset: 'bars_1m',
    symbols: ['AAPL', 'MSFT'],
    startNs: 1704153600000000000n,
    endNs: 1704240000000000000n,
    columns: ['symbol', 'ts', 'close'],
    limit: 1000,
    interval: null,
    asOf: 42,
  },
  partitions: ['date=2024-01-02'],
};
const FIXTURE_TICKET =
  'fd1:eyJxIjp7ImRhdGFzZXQiOiJiYXJzXzFtIiwic3ltYm9scyI6WyJBQVBMIiwiTVNGVCJdLCJzdGFydCI6IjE3MDQxNTM2MDAwMDAwMDAwMDAiLCJlbmQiOiIxNzA0MjQwMDAwMDAwMDAwMDAwIiwiY29sdW1ucyI6WyJzeW1ib2wiLCJ0cyIsImNsb3NlIl0sImxpbWl0IjoxMDAwLCJhc19vZiI6NDJ9LCJwIjpbImRhdGU9MjAyNC0wMS0wMiJdfQ';

describe('ticket format', () => {
  it('encodes a slice to the fixed bytes', () => {
    expect(encodeTicket(FIXTURE_SLICE).toString('utf8')).toBe(FIXTURE_TICKET);
  });

  it('decodes the fixed bytes to the slice', () => {
    expect(decodeTicket(Buffer.from(FIXTURE_TICKET))).toEqual({ kind: 'slice', slice: FIXTURE_SLICE });
  });

  it('accepts the contract example query JSON as a ticket', () => {
    const json =
      '{"dataset":"bars_1m","symbols":["AAPL","MSFT"],"start":"2024-01-02T00:00:00Z","end":"2024-01-03T00:00:00Z","columns":["symbol","ts","close"],"limit":1000,"interval":"1h","as_of":42}';
    expect(decodeTicket(Buffer.from(json))).toEqual({
      kind: 'query',
      query: { ...FIXTURE_SLICE.query, interval: '1h' },
    });
  });

  it('round-trips a follow ticket pinned to a version, which a client query could not name', () => {
    const slice = { query: { ...FIXTURE_SLICE.query, limit: null, follow: true }, partitions: null };
    expect(decodeTicket(encodeTicket(slice))).toEqual({ kind: 'slice', slice });
    expect(() => parseQuery('{"dataset":"d","follow":true,"as_of":3}')).toThrow(/"as_of" cannot be combined with "follow"/);
    const forged = 'fd1:' + Buffer.from(JSON.stringify({ q: { dataset: 'd', as_of: 1, follow: 'yes' }, p: null })).toString('base64url');
    expect(() => decodeTicket(Buffer.from(forged))).toThrow(/"follow" must be true/);
  });

  it('refuses bytes that are neither', () => {
    expect(() => decodeTicket(Buffer.from('hello'))).toThrow(/neither a flightdeck ticket/);
    expect(() => decodeTicket(Buffer.from('fd1:!!!'))).toThrow(/not base64url/);
    expect(() => decodeTicket(Buffer.from('fd1:' + Buffer.from('{"q":{}}').toString('base64url')))).toThrow(/ticket/);
    expect(() => decodeTicket(Buffer.from([0xff, 0xfe, 0x00]))).toThrow(/neither/);
  });
});

describe('query JSON', () => {
  it('keeps epoch nanoseconds above 2^53 exact', () => {
    const q = parseQuery('{"dataset":"d","start":1704153600000000001,"end":"1704153600000000002"}');
    expect(q.startNs).toBe(1704153600000000001n);
    expect(q.endNs).toBe(1704153600000000002n);
  });

  it('keeps nanosecond fractions and offsets of ISO times', () => {
    const q = parseQuery('{"dataset":"d","start":"2024-01-02T00:00:00.000000001Z","end":"2024-01-02T01:00:00+01:00"}');
    expect(q.startNs).toBe(1704153600000000001n);
    expect(q.endNs).toBe(1704153600000000000n);
  });

  it('names the unknown field, the bad field and the bad value', () => {
    expect(() => parseQuery('{"dataset":"d","symbol":"AAPL"}')).toThrow(/unknown field "symbol"/);
    expect(() => parseQuery('{"dataset":"d","limit":-1}')).toThrow(/field "limit"/);
    expect(() => parseQuery('{"dataset":"d","interval":"2m"}')).toThrow(/field "interval"/);
    expect(() => parseQuery('{"dataset":"d","start":"yesterday"}')).toThrow(/"yesterday" is not an ISO-8601 time/);
    expect(() => parseQuery('{"dataset":"d","start":"2024-02-30"}')).toThrow(/not a valid date/);
    expect(() => parseQuery('{"dataset":')).toThrow(/not valid JSON/);
    expect(() => parseQuery('[]')).toThrow(/query/);
    expect(() => parseQuery('{"dataset":"d","columns":["a","a"]}')).toThrow(/twice/);
  });
});
