/**
 * `Instrument.latest`: the newest bar of each symbol, found with Flight queries only.
 *
 * Flight returns rows ordered by key then time, and `limit` keeps the first rows, so "the last
 * row per key" cannot be asked for directly. Instead, describe_dataset gives each partition's
 * min/max time; with T the newest time of the dataset, the facade reads a window [T - span, ∞) for
 * all symbols of the batch in ONE DoGet and keeps each symbol's last row. Symbols not seen are
 * looked for in the next window [T - 4·span, previous start), and so on (×4 each time) until the
 * window reaches the oldest partition, whose read has no lower bound. The first span is 1/64 of
 * the newest partition's time range (at least one second), so an active symbol is usually found
 * by the first read, which touches a few rows per symbol; a symbol without data costs
 * O(log₄(history / span)) small reads.
 *
 * Each read is capped at FACADE_MAX_ROWS + 1 rows. When a read hits the cap, the symbols whose
 * rows were followed by another symbol's are complete (rows of one key are contiguous); the
 * others are looked for again in the upper half of the window, then in the lower half.
 *
 * The window's upper end stays open, so a description a few seconds old (see DatasetCatalog)
 * costs extra rows, never a wrong answer.
 */
import { barAt, type Bar, type BarShape } from './bar-block.js';
import type { BarReader } from './bar-reader.js';
import { formatIsoNs, parseIsoNs } from '@flightdeck/contract';
import { facadeError } from './errors.js';
import type { DatasetDescription } from './flight-port.js';

const FIRST_SPAN_FRACTION = 64n;
const MIN_SPAN_NS = 1_000_000_000n;
const GROWTH = 4n;

interface Window {
  /** Inclusive; undefined = unbounded (the oldest window). */
  start: bigint | undefined;
  /** Exclusive; undefined = unbounded (the newest window). */
  end: bigint | undefined;
}

export async function latestBars(
  reader: BarReader,
  shape: BarShape,
  description: DatasetDescription,
  symbols: readonly string[],
  rowCap: number,
): Promise<Map<string, Bar>> {
  const found = new Map<string, Bar>();
  const bounds = timeBounds(description);
  if (bounds === undefined || !shape.hasSchema) return found;
  const { oldest, newest, newestPartitionSpan } = bounds;
  let span = newestPartitionSpan / FIRST_SPAN_FRACTION;
  if (span < MIN_SPAN_NS) span = MIN_SPAN_NS;

  let missing = [...symbols];
  let end: bigint | undefined;
  for (;;) {
    const candidate = newest - span;
    const start = candidate <= oldest ? undefined : candidate;
    await searchWindow(reader, shape, missing, { start, end }, rowCap, { oldest, newest }, found);
    missing = missing.filter((s) => !found.has(s));
    if (missing.length === 0 || start === undefined) return found;
    end = start;
    span *= GROWTH;
  }
}

async function searchWindow(
  reader: BarReader,
  shape: BarShape,
  symbols: string[],
  window: Window,
  rowCap: number,
  bounds: { oldest: bigint; newest: bigint },
  found: Map<string, Bar>,
): Promise<void> {
  if (symbols.length === 0) return;
  const block = await reader.read(shape, {
    symbols,
    ...(window.start === undefined ? {} : { start: formatIsoNs(window.start) }),
    ...(window.end === undefined ? {} : { end: formatIsoNs(window.end) }),
    limit: rowCap + 1,
  });
  const last = new Map<string, Bar>();
  for (const run of block.runs) last.set(run.symbol, barAt(block, run.symbol, run.end - 1));
  if (block.length <= rowCap) {
    for (const [symbol, bar] of last) found.set(symbol, bar);
    return;
  }
  // Capped: every symbol but the last one read is complete.
  const partial = block.runs[block.runs.length - 1]!.symbol;
  for (const [symbol, bar] of last) if (symbol !== partial) found.set(symbol, bar);
  const again = symbols.filter((s) => !found.has(s));
  const lo = window.start ?? bounds.oldest;
  const hi = window.end ?? bounds.newest + 1n;
  if (hi - lo <= 1n) {
    throw facadeError('ROW_LIMIT_EXCEEDED', `latest: more than FACADE_MAX_ROWS=${rowCap} rows share one instant`, { limit: rowCap });
  }
  const mid = lo + (hi - lo) / 2n;
  await searchWindow(reader, shape, again, { start: mid, end: window.end }, rowCap, bounds, found);
  await searchWindow(reader, shape, again.filter((s) => !found.has(s)), { start: window.start, end: mid }, rowCap, bounds, found);
}

function timeBounds(d: DatasetDescription): { oldest: bigint; newest: bigint; newestPartitionSpan: bigint } | undefined {
  let oldest: bigint | undefined;
  let newest: bigint | undefined;
  let newestPartitionSpan = 0n;
  for (const p of d.partitions) {
    if (p.rows === 0) continue;
    const min = parseIsoNs(p.min_time);
    const max = parseIsoNs(p.max_time);
    if (min === null || max === null) continue;
    if (oldest === undefined || min < oldest) oldest = min;
    if (newest === undefined || max > newest) {
      newest = max;
      newestPartitionSpan = max - min;
    }
  }
  return oldest === undefined || newest === undefined ? undefined : { oldest, newest, newestPartitionSpan };
}
