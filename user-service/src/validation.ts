/**
 * Input rules. Each returns the normalised value or throws `userError('BAD_USER_INPUT', ...)` naming
 * the argument. The rules are documented in user-service/README.md.
 */
import { argumentsFault, textFault } from '@flightdeck/graphql-http';
import { userError } from './errors.js';

/** Max length of an address (RFC 5321 path limit) and of its local part. */
export const EMAIL_MAX = 254;
const EMAIL_LOCAL_MAX = 64;
/**
 * A practical address: `local@domain`, local part of printable non-space characters (no control
 * character) other than `@ " ( ) , : ; < > [ \ ]`, no leading/trailing/double dot; domain of at
 * least two DNS labels (letters, digits, hyphens inside), the last one alphabetic or punycode (`xn--...`).
 */
const EMAIL =
  /^(?!\.)(?!.*\.\.)[^\s@"(),:;<>[\\\]\u0000-\u001f\u007f-\u009f]+(?<!\.)@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

/** Ticker symbols after trimming and upper-casing: AAPL, BRK.B, BRK-B, ^GSPC, EURUSD=X, ES=F, 7203.T. */
export const SYMBOL = /^\^?[A-Z0-9][A-Z0-9.=-]{0,19}$/;

export const USER_NAME_MAX = 200;
export const WATCHLIST_NAME_MAX = 100;
/** Most symbols one watchlist holds. */
export const WATCHLIST_SYMBOLS_MAX = 500;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * No string input may hold a C0 or C1 control character (NUL, BEL, tab, newline, DEL, ...): PostgreSQL
 * refuses NUL in text, and none belongs in an address, a name, a symbol or an id. Returns `raw`.
 */
export function checkText(raw: string, field: string): string {
  const fault = textFault(raw, field);
  if (fault !== undefined) throw userError('BAD_USER_INPUT', fault.message, fault.field);
  return raw;
}

/**
 * Every resolver runs this on its arguments (or an entity representation) first: each string in
 * them, inside lists and input objects too, passes {@link checkText} before anything reaches the database.
 */
export function checkArguments(args: object): void {
  const fault = argumentsFault(args);
  if (fault !== undefined) throw userError('BAD_USER_INPUT', fault.message, fault.field);
}

export function parseEmail(raw: string, field = 'email'): string {
  const email = checkText(raw, field).trim();
  if (email.length === 0) throw userError('BAD_USER_INPUT', `${field} must not be empty`, field);
  const at = email.lastIndexOf('@');
  if (email.length > EMAIL_MAX || !EMAIL.test(email) || at > EMAIL_LOCAL_MAX) {
    throw userError('BAD_USER_INPUT', `${field} ${JSON.stringify(raw)} is not a valid email address`, field);
  }
  return email;
}

export function parseName(raw: string, field: string, max: number): string {
  const name = checkText(raw, field).trim();
  if (name.length === 0) throw userError('BAD_USER_INPUT', `${field} must not be empty`, field);
  if ([...name].length > max) throw userError('BAD_USER_INPUT', `${field} must be at most ${max} characters`, field);
  return name;
}

export function parseSymbol(raw: string, field = 'symbol'): string {
  const symbol = checkText(raw, field).trim().toUpperCase();
  if (!SYMBOL.test(symbol)) {
    throw userError(
      'BAD_USER_INPUT',
      `${field} ${JSON.stringify(raw)} is not a valid symbol (1-20 of A-Z 0-9 . = -, optionally after ^, starting with a letter or digit)`,
      field,
    );
  }
  return symbol;
}

/**
 * Ids are opaque to clients: a string that is not one of ours names no record, so it is reported as
 * NOT_FOUND like any unknown id (never passed to the database, which would reject a non-UUID).
 */
export function isId(raw: string): boolean {
  return UUID.test(raw);
}
