/**
 * The contract's query JSON from `get` flags. Integer epoch nanoseconds exceed 2^53, so time
 * values given as digits are written into the JSON as exact integer literals, not JS numbers.
 */
export interface QueryFlags {
  dataset: string;
  symbols?: string[];
  from?: string;
  to?: string;
  columns?: string[];
  interval?: string;
  limit?: number;
  asOf?: number;
}

function timeLiteral(value: string): string {
  const text = value.trim();
  return /^-?\d+$/.test(text) ? text : JSON.stringify(text);
}

export function queryJson(q: QueryFlags): string {
  const parts: string[] = [`"dataset":${JSON.stringify(q.dataset)}`];
  if (q.symbols !== undefined) parts.push(`"symbols":${JSON.stringify(q.symbols)}`);
  if (q.from !== undefined) parts.push(`"start":${timeLiteral(q.from)}`);
  if (q.to !== undefined) parts.push(`"end":${timeLiteral(q.to)}`);
  if (q.columns !== undefined) parts.push(`"columns":${JSON.stringify(q.columns)}`);
  if (q.interval !== undefined) parts.push(`"interval":${JSON.stringify(q.interval)}`);
  if (q.limit !== undefined) parts.push(`"limit":${q.limit}`);
  if (q.asOf !== undefined) parts.push(`"as_of":${q.asOf}`);
  return `{${parts.join(',')}}`;
}
