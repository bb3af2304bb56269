/**
 * The query JSON of the contract (CMD descriptors and query tickets): parsed strictly, so an
 * unknown field or a wrong type is INVALID_ARGUMENT naming the field.
 */
import { z } from 'zod';
import { StorageError } from '../storage/errors.js';
import { INTERVALS, type ReadQuery } from '../storage/read-query.js';
import { parseTimeValue, quoteTimeIntegers } from './time-value.js';

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
});

export type QueryJson = z.input<typeof querySchema>;

/** Turns a zod failure into one sentence naming the field at fault. */
export function describeZodError(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  if (!issue) return `invalid ${what}`;
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} in ${what}`;
  }
  const path = issue.path.join('.');
  return path ? `field "${path}" in ${what}: ${issue.message}` : `${what}: ${issue.message}`;
}

export function parseJsonText(bytes: Uint8Array | string, what: string): unknown {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new StorageError('INVALID_ARGUMENT', `${what} is not valid UTF-8`);
  }
  try {
    return JSON.parse(quoteTimeIntegers(text, ['start', 'end']));
  } catch (e) {
    throw new StorageError('INVALID_ARGUMENT', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

export function parseQuery(bytes: Uint8Array | string): ReadQuery {
  return queryFromJson(parseJsonText(bytes, 'query'));
}

export function queryFromJson(raw: unknown): ReadQuery {
  const parsed = querySchema.safeParse(raw);
  if (!parsed.success) throw new StorageError('INVALID_ARGUMENT', describeZodError(parsed.error, 'query'));
  const q = parsed.data;
  const startNs = q.start === undefined ? null : parseTimeValue('start', q.start);
  const endNs = q.end === undefined ? null : parseTimeValue('end', q.end);
  if (q.columns && new Set(q.columns).size !== q.columns.length) {
    throw new StorageError('INVALID_ARGUMENT', 'field "columns" names a column twice');
  }
  return {
    dataset: q.dataset,
    symbols: q.symbols ?? null,
    startNs,
    endNs,
    columns: q.columns ?? null,
    limit: q.limit ?? null,
    interval: q.interval ?? null,
    asOf: q.as_of ?? null,
  };
}

/** The JSON form of a query, inverse of queryFromJson (times as epoch-nanosecond strings). */
export function queryToJson(q: ReadQuery): Record<string, unknown> {
  const out: Record<string, unknown> = { dataset: q.dataset };
  if (q.symbols) out.symbols = q.symbols;
  if (q.startNs !== null) out.start = q.startNs.toString();
  if (q.endNs !== null) out.end = q.endNs.toString();
  if (q.columns) out.columns = q.columns;
  if (q.limit !== null) out.limit = q.limit;
  if (q.interval) out.interval = q.interval;
  if (q.asOf !== null) out.as_of = q.asOf;
  return out;
}
