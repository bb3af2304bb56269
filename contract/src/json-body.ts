/**
 * Strict JSON bodies (queries, action bodies): UTF-8 only, integer time literals kept exact, and a
 * zod failure turned into one sentence naming the field, so every fault is INVALID_ARGUMENT that
 * says what is wrong.
 */
import type { z } from 'zod';
import { invalidArgument } from './errors.js';

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

/** The fields whose integer values are epoch nanoseconds, beyond what a JS number holds exactly. */
export const TIME_FIELDS = ['start', 'end'] as const;

/**
 * JSON.parse loses precision above 2^53, and epoch nanoseconds are above it. Integer literals
 * of the time fields are quoted before parsing so they reach parseTimeValue exactly.
 */
export function quoteTimeIntegers(json: string, fields: readonly string[] = TIME_FIELDS): string {
  const names = fields.join('|');
  return json.replace(new RegExp(`(?<!\\\\)("(?:${names})"\\s*:\\s*)(-?\\d+)(?=\\s*[,}])`, 'g'), '$1"$2"');
}

/** Parses UTF-8 JSON text; INVALID_ARGUMENT naming `what` when it is not. */
export function parseJsonText(bytes: Uint8Array | string, what: string): unknown {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalidArgument(`${what} is not valid UTF-8`);
  }
  try {
    return JSON.parse(quoteTimeIntegers(text));
  } catch (e) {
    throw invalidArgument(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Validates parsed JSON against a schema; INVALID_ARGUMENT naming the field otherwise. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidArgument(describeZodError(parsed.error, what));
  return parsed.data;
}
