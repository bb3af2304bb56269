/**
 * The rule both subgraphs apply to every string they take as input (arguments, entity
 * representations) before it reaches PostgreSQL or Flight: no C0 or C1 control character (NUL,
 * BEL, tab, newline, DEL, U+0080-U+009F). No name, id, symbol, address, dataset or interval holds
 * one, and PostgreSQL refuses NUL in text outright. Each subgraph turns a fault into its own
 * `BAD_USER_INPUT` error naming `field`.
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export interface TextFault {
  /** The argument at fault (`arg`, or `arg.key` inside an input object). */
  field: string;
  /** E.g. `email must not contain control characters (U+0000 at character 2)`. */
  message: string;
}

/** A fault naming `field` when `text` holds a control character; undefined when it holds none. */
export function textFault(text: string, field: string): TextFault | undefined {
  const match = CONTROL.exec(text);
  if (match === null) return undefined;
  const codePoint = match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  const position = [...text.slice(0, match.index)].length + 1;
  return { field, message: `${field} must not contain control characters (U+${codePoint} at character ${position})` };
}

/**
 * The first fault among the strings of resolver arguments (or of an entity representation),
 * looking into lists and input objects; undefined when there is none.
 */
export function argumentsFault(args: object, prefix = ''): TextFault | undefined {
  for (const [name, value] of Object.entries(args)) {
    const fault = valueFault(value, `${prefix}${name}`);
    if (fault !== undefined) return fault;
  }
  return undefined;
}

function valueFault(value: unknown, field: string): TextFault | undefined {
  if (typeof value === 'string') return textFault(value, field);
  if (Array.isArray(value)) {
    for (const item of value) {
      const fault = valueFault(item, field);
      if (fault !== undefined) return fault;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return argumentsFault(value, `${field}.`);
  }
  return undefined;
}
