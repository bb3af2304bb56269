/**
 * The query JSON of a CMD descriptor or a ticket (CONTRACT "Descriptors"): its wire form, its strict
 * parser (an unknown field or a wrong type is INVALID_ARGUMENT naming the field), the parsed form
 * the storage engine reads, and exact serialisers both ways.
 */
import { z } from 'zod';
import { invalidArgument } from './errors.js';
import { INTERVALS, type Interval } from './intervals.js';
import { parseJsonText, parseWith } from './json-body.js';
import { parseTimeValue } from './time-value.js';

/** The query as a client writes it. Times: ISO-8601 text, or integer epoch nanoseconds (digits, number or bigint). */
export interface QueryJson {
  dataset: string;
  symbols?: string[];
  /** Inclusive. */
  start?: string | number | bigint;
  /** Exclusive. */
  end?: string | number | bigint;
  columns?: string[];
  limit?: number;
  interval?: string;
  as_of?: number;
  /** Stream the query's rows, then the matching rows of every later commit (DoGet only). */
  follow?: boolean;
}

/** A validated query, as the storage engine takes it. */
export interface ReadQuery {
  dataset: string;
  /** Filter on the first key column; null = every key. */
  symbols: string[] | null;
  /** Inclusive start and exclusive end, nanoseconds since the epoch (UTC). */
  startNs: bigint | null;
  endNs: bigint | null;
  /** Projection in the caller's order; null = every column. */
  columns: string[] | null;
  limit: number | null;
  interval: Interval | null;
  /** Committed version to read; null = the current one. */
  asOf: number | null;
  /** Follow later commits after the query's rows (CONTRACT "Descriptors", `follow`); absent = false. */
  follow?: boolean;
}

export function wholeDataset(dataset: string): ReadQuery {
  return { dataset, symbols: null, startNs: null, endNs: null, columns: null, limit: null, interval: null, asOf: null };
}

const timeValue = z.union([z.string(), z.number()]);

const querySchema = z.strictObject({
  dataset: z.string(),
  symbols: z.array(z.string()).optional(),
  start: timeValue.optional(),
  end: timeValue.optional(),
  columns: z.array(z.string()).min(1).optional(),
  limit: z.number().int().min(0).optional(),
  interval: z.enum(INTERVALS).optional(),
  as_of: z.number().int().min(0).optional(),
  follow: z.boolean().optional(),
});

/** Query fields a `follow` query refuses: it streams every later commit, one endpoint, from the current version. */
const NOT_WITH_FOLLOW = ['limit', 'interval', 'as_of'] as const;

/** Parses query JSON text or bytes. */
export function parseQuery(bytes: Uint8Array | string): ReadQuery {
  return queryFromJson(parseJsonText(bytes, 'query'));
}

/** Validates an already parsed query object. */
export function queryFromJson(raw: unknown): ReadQuery {
  const q = parseWith(querySchema, raw, 'query');
  if (q.columns && new Set(q.columns).size !== q.columns.length) {
    throw invalidArgument('field "columns" names a column twice');
  }
  if (q.follow === true) {
    const clash = NOT_WITH_FOLLOW.find((f) => q[f] !== undefined);
    if (clash) throw invalidArgument(`field "${clash}" cannot be combined with "follow"`);
  }
  return {
    dataset: q.dataset,
    symbols: q.symbols ?? null,
    startNs: q.start === undefined ? null : parseTimeValue('start', q.start),
    endNs: q.end === undefined ? null : parseTimeValue('end', q.end),
    columns: q.columns ?? null,
    limit: q.limit ?? null,
    interval: q.interval ?? null,
    asOf: q.as_of ?? null,
    ...(q.follow === true ? { follow: true } : {}),
  };
}

/** The JSON object of a parsed query, inverse of queryFromJson (times as epoch-nanosecond strings, exact). */
export function queryToJson(q: ReadQuery): Record<string, unknown> {
  const out: Record<string, unknown> = { dataset: q.dataset };
  if (q.symbols) out.symbols = q.symbols;
  if (q.startNs !== null) out.start = q.startNs.toString();
  if (q.endNs !== null) out.end = q.endNs.toString();
  if (q.columns) out.columns = q.columns;
  if (q.limit !== null) out.limit = q.limit;
  if (q.interval) out.interval = q.interval;
  if (q.asOf !== null) out.as_of = q.asOf;
  if (q.follow === true) out.follow = true;
  return out;
}

function timeLiteral(value: string | number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return JSON.stringify(value);
  const text = value.trim();
  return /^-?\d+$/.test(text) ? text : JSON.stringify(text);
}

/**
 * The JSON text of a client's query, fields in the contract's order. Integer times are written as
 * exact integer literals (epoch nanoseconds exceed 2^53, so they never pass through a JS number).
 */
export function serializeQuery(q: QueryJson): string {
  const parts: string[] = [`"dataset":${JSON.stringify(q.dataset)}`];
  if (q.symbols !== undefined) parts.push(`"symbols":${JSON.stringify(q.symbols)}`);
  if (q.start !== undefined) parts.push(`"start":${timeLiteral(q.start)}`);
  if (q.end !== undefined) parts.push(`"end":${timeLiteral(q.end)}`);
  if (q.columns !== undefined) parts.push(`"columns":${JSON.stringify(q.columns)}`);
  if (q.interval !== undefined) parts.push(`"interval":${JSON.stringify(q.interval)}`);
  if (q.limit !== undefined) parts.push(`"limit":${q.limit}`);
  if (q.as_of !== undefined) parts.push(`"as_of":${q.as_of}`);
  if (q.follow !== undefined) parts.push(`"follow":${q.follow}`);
  return `{${parts.join(',')}}`;
}
