/**
 * Faults in the data being written, found before it reaches the server. The message names the
 * source, row and column at fault; the code matches what the server would answer.
 */

/** Where a bad value sits: the file or stream, its 1-based row (and line, for text formats) and column. */
export interface InputLocation {
  source?: string;
  row?: number;
  line?: number;
  column?: string;
}

export class InputError extends Error {
  override readonly name = 'InputError';
  readonly code = 'INVALID_ARGUMENT';
  readonly location: InputLocation;
  /** The message without its location prefix. */
  readonly reason: string;

  constructor(message: string, location: InputLocation = {}, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.location = location;
    this.reason = options?.reason ?? message;
  }
}

/** A value that cannot become its column's type; the batch builder adds where it was. */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

/** `data.csv: row 17 (line 18), column "close"`: the prefix of every located message. */
export function formatLocation(loc: InputLocation): string {
  const parts: string[] = [];
  if (loc.source !== undefined) parts.push(loc.source);
  if (loc.row !== undefined) parts.push(loc.line === undefined ? `row ${loc.row}` : `row ${loc.row} (line ${loc.line})`);
  else if (loc.line !== undefined) parts.push(`line ${loc.line}`);
  let text = parts.join(': ');
  if (loc.column !== undefined) text += `${text === '' ? '' : ', '}column "${loc.column}"`;
  return text;
}

/** An InputError whose message starts with its location. */
export function locatedError(loc: InputLocation, reason: string, cause?: unknown): InputError {
  const where = formatLocation(loc);
  return new InputError(where === '' ? reason : `${where}: ${reason}`, loc, { reason, ...(cause === undefined ? {} : { cause }) });
}
