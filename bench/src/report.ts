/**
 * The benchmark's report: one row per scenario (flightdeck, the peer, the ratio, the target), printed
 * as a text table and written as JSON (`<date>-<mode>.json`) and markdown (`latest.md`) into the
 * results directory (see config.ts: a temp directory by default, bench/results/ with --save).
 */
import { ratesOf, type Rates, type Rep, type Summary } from './stats.js';

/** One server's measurements in a scenario. */
export interface Side {
  /** What served (flightdeck, pyarrow in-memory, ...) and through which client. */
  label: string;
  reps: Rep[];
  rates: Rates;
  extra?: Record<string, unknown>;
}

export interface Target {
  text: string;
  measured: string;
  met: boolean | null;
}

export interface Row {
  id: string;
  title: string;
  /** throughput rows show GB/s and rows/s; latency rows show ms (and rows/s). */
  kind: 'throughput' | 'latency';
  fd: Side | null;
  peer: Side | null;
  /** flightdeck / peer, as speed: > 1 means flightdeck is faster. */
  ratio: number | null;
  target: Target | null;
  notes: string[];
  /** Cell texts where the default rendering does not fit (percentiles, bytes). */
  cells?: { fd?: string; peer?: string };
}

export function side(label: string, reps: Rep[], extra?: Record<string, unknown>): Side {
  return { label, reps, rates: ratesOf(reps), ...(extra ? { extra } : {}) };
}

export function speedRatio(kind: Row['kind'], fd: Side | null, peer: Side | null): number | null {
  if (!fd || !peer || fd.reps.length === 0 || peer.reps.length === 0) return null;
  if (kind === 'latency') return peer.rates.seconds.median / fd.rates.seconds.median;
  return fd.rates.rowsPerSec.median / peer.rates.rowsPerSec.median;
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
/** GB/s: two decimals, or two significant digits below 0.1. */
const gb = (v: number) => (!Number.isFinite(v) ? 'n/a' : v >= 0.1 || v === 0 ? v.toFixed(2) : v.toPrecision(2));

function range(s: Summary, scale: number, digits: number): string {
  if (s.n <= 1) return '';
  return ` (${fmt(s.min * scale, digits)}–${fmt(s.max * scale, digits)})`;
}

export function formatRate(rowsPerSec: number): string {
  if (rowsPerSec >= 1e6) return `${fmt(rowsPerSec / 1e6, 1)} Mrows/s`;
  if (rowsPerSec >= 1e3) return `${fmt(rowsPerSec / 1e3, 1)} krows/s`;
  return `${fmt(rowsPerSec, 0)} rows/s`;
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 1e9) return `${fmt(n / 1e9, 2)} GB`;
  if (n >= 1e6) return `${fmt(n / 1e6, 1)} MB`;
  if (n >= 1e3) return `${fmt(n / 1e3, 1)} kB`;
  return `${n} B`;
}

export function cell(kind: Row['kind'], s: Side | null): string {
  if (!s || s.reps.length === 0) return '—';
  const r = s.rates;
  if (kind === 'latency') {
    return `${fmt(r.seconds.median * 1000, 1)} ms${range(r.seconds, 1000, 1)} · ${formatRate(r.rowsPerSec.median)}`;
  }
  const gbRange = r.gbps.n > 1 ? ` (${gb(r.gbps.min)}–${gb(r.gbps.max)})` : '';
  return `${gb(r.gbps.median)} GB/s${gbRange} · ${formatRate(r.rowsPerSec.median)}`;
}

function cellsOf(row: Row): [string, string, string, string, string] {
  const ratio = row.ratio === null ? '—' : `${fmt(row.ratio)}×`;
  const target = row.target ? `${row.target.text}: ${row.target.met === null ? 'not measured' : row.target.met ? 'met' : 'NOT met'}` : '';
  return [row.title, row.cells?.fd ?? cell(row.kind, row.fd), row.cells?.peer ?? cell(row.kind, row.peer), ratio, target];
}

const HEADER: [string, string, string, string, string] = ['scenario', 'flightdeck', 'peer (pyarrow)', 'fd/peer', 'target'];

export function renderText(rows: readonly Row[]): string {
  const table = [HEADER, ...rows.map(cellsOf)];
  const widths = HEADER.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join(' │ ').trimEnd();
  const sep = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(HEADER), sep, ...rows.map((r) => line(cellsOf(r)))].join('\n');
}

const mdEscape = (s: string) => s.replaceAll('|', '\\|');

export function renderMarkdownTable(rows: readonly Row[]): string {
  const head = `| ${HEADER.join(' | ')} |\n|${HEADER.map(() => '---').join('|')}|`;
  return [head, ...rows.map((r) => `| ${cellsOf(r).map(mdEscape).join(' | ')} |`)].join('\n');
}

export function renderTargets(rows: readonly Row[], markdown = false): string[] {
  return rows
    .filter((r) => r.target)
    .map((r) => {
      const t = r.target!;
      const verdict = t.met === null ? 'NOT MEASURED' : t.met ? 'met' : 'NOT met';
      const head = markdown ? `**${verdict}**` : verdict.padEnd(12);
      return `${head} ${r.title}: ${t.text}; measured ${t.measured}`;
    });
}

export interface BenchReport {
  meta: Record<string, unknown>;
  rows: Row[];
  notes: string[];
}

/** The JSON report (kept under bench/results/ by --save): per-rep figures, but no bulky logs. */
export function toJson(report: BenchReport): string {
  const rows = report.rows.map((r) => ({
    id: r.id,
    title: r.title,
    kind: r.kind,
    ratio: r.ratio,
    target: r.target,
    cells: { flightdeck: r.cells?.fd ?? cell(r.kind, r.fd), peer: r.cells?.peer ?? cell(r.kind, r.peer) },
    flightdeck: compactSide(r.fd),
    peer: compactSide(r.peer),
    notes: r.notes,
  }));
  const text = JSON.stringify({ meta: report.meta, rows, notes: report.notes }, roundNumbers, 1);
  // Flat objects and arrays of scalars on one line each: small diffs, short files.
  const flat = (open: string, close: string) =>
    new RegExp(`\\${open}\\n\\s*([^{}\\[\\]]*?)\\n\\s*\\${close}`, 'g');
  const oneLine = (o: string, c: string) => (_m: string, inner: string) => `${o}${inner.replace(/\n\s*/g, ' ')}${c}`;
  return `${text.replace(flat('{', '}'), oneLine('{', '}')).replace(flat('[', ']'), oneLine('[', ']'))}\n`;
}

/** Many repetitions (GraphQL requests): only their durations, not one object each. */
function compactSide(s: Side | null): unknown {
  if (!s || s.reps.length <= 20) return s;
  const { reps, ...rest } = s;
  return { ...rest, reps_seconds: reps.map((r) => Number(r.seconds.toPrecision(4))), rows_per_rep: reps[0]!.rows };
}

function roundNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value)) return Number(value.toPrecision(6));
  return value;
}

export function renderMarkdown(report: BenchReport): string {
  const m = report.meta;
  const lines = [
    `# flightdeck benchmark — ${String(m.mode)} run, ${String(m.date)}`,
    '',
    `Commit \`${String(m.commit)}\`${m.dirty ? ' (with uncommitted changes)' : ''}; ${String(m.machine)}.`,
    `Data: ${String(m.data)}. Raw figures: [\`${String(m.jsonFile)}\`](${String(m.jsonFile)}).`,
    '',
    'Medians over the repetitions, min–max in brackets; `fd/peer` is flightdeck\'s speed over the peer\'s',
    '(rows/s for throughput, inverse latency for latency rows): above 1 flightdeck is faster.',
    '',
    renderMarkdownTable(report.rows),
    '',
    '## Targets',
    '',
    ...renderTargets(report.rows, true).map((t) => `- ${t}`),
    '',
    '## Notes',
    '',
    ...report.notes.map((n) => `- ${n}`),
    ...report.rows.flatMap((r) => r.notes.map((n) => `- ${r.title}: ${n}`)),
    '',
  ];
  return lines.join('\n');
}
