/**
 * The selective query: one symbol over a month (a week, a day when the data is shorter). Cold, on a
 * restarted flightdeck and the peer's Parquet with the page cache dropped, measuring the bytes each
 * server process read (/proc/<pid>/io rchar) against the selected rows' share of the dataset; then
 * hot, again and again on a warm flightdeck and the peer's in-memory table.
 */
import { DATASET, DAY_NS, iso, MINUTE_NS, type GenInfo } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { GetResult } from '../flight-results.js';
import { formatBytes, formatRate, side, type Side } from '../report.js';
import { summarize } from '../stats.js';

interface Window {
  symbol: string;
  start: bigint;
  end: bigint;
  label: string;
  rows: number;
}

/** The selective query's window: a month, else a week, else a day, inside the data. */
function windowOf(g: GenInfo): Window {
  const spanDays = g.minutes / 1440;
  const [days, label] = spanDays > 31 ? [30, 'one month'] : spanDays > 7 ? [7, 'one week'] : [1, 'one day'];
  const first = BigInt(g.start_ns);
  const start = spanDays >= days + 1 ? first + DAY_NS : first;
  const end = start + BigInt(days) * DAY_NS;
  const dataEnd = BigInt(g.end_ns);
  const rows = Number(((end < dataEnd ? end : dataEnd) - start) / MINUTE_NS);
  return { symbol: `S${String(Math.floor(g.symbols / 2)).padStart(4, '0')}`, start, end, label, rows };
}

/** Latency, rows/s and bytes read (and what the server says it read) in one cell. */
function readCell(s: Side, read: number, own?: number): string {
  const base = `${(s.rates.seconds.median * 1000).toFixed(1)} ms`;
  const rng = s.rates.seconds.n > 1 ? ` (${(s.rates.seconds.min * 1000).toFixed(1)}–${(s.rates.seconds.max * 1000).toFixed(1)})` : '';
  const ownText = own !== undefined && Number.isFinite(own) ? ` (says ${formatBytes(own)})` : '';
  return `${base}${rng} · ${formatRate(s.rates.rowsPerSec.median)} · read ${formatBytes(read)}${ownText}`;
}

export async function selective(run: BenchRun): Promise<void> {
  const w = windowOf(run.gen);
  const fdQuery = { dataset: DATASET, symbols: [w.symbol], start: iso(w.start), end: iso(w.end) };
  const peerQuery = { symbols: [w.symbol], start: iso(w.start), end: iso(w.end) };
  const describe = await run.describe();
  const total = run.gen.data.rows;
  const share = (describe.bytes * w.rows) / total;
  const touched = describe.partitions.filter((p) => {
    const day = /date=(\d{4}-\d{2}-\d{2})/.exec(p.key)?.[1];
    if (!day) return true;
    const t = BigInt(Date.parse(`${day}T00:00:00Z`)) * 1_000_000n;
    return t + DAY_NS > w.start && t < w.end;
  });
  const touchedBytes = touched.reduce((n, p) => n + p.bytes, 0);

  // Cold: flightdeck restarted, page cache dropped; bytes read from /proc/<pid>/io.
  const fdCold: GetResult[] = [];
  const peerCold: GetResult[] = [];
  for (let i = 0; i < run.cfg.reps.selectiveCold; i++) {
    await run.coldFd();
    fdCold.push(await run.fdGet({ cmd: fdQuery }));
    run.cold();
    peerCold.push(await run.get(run.peerUrl(), { cmd: { source: 'parquet', ...peerQuery } }, run.py, run.peer!.pid));
  }
  const wrong = [...fdCold, ...peerCold].filter((r) => r.rows !== w.rows);
  const rchar = summarize(fdCold.map((r) => Number(r.io_rchar)));
  const reported = summarize(fdCold.map((r) => Number(r.reported_bytes_read)));
  const peerRchar = summarize(peerCold.map((r) => Number(r.io_rchar)));
  const estimated = fdCold[0]?.total_bytes ?? NaN;
  const fdSide = side('flightdeck, restarted, page cache dropped', fdCold, {
    bytesRead: rchar,
    reportedBytesRead: reported,
    flightInfoTotalBytes: estimated,
    touchedPartitionBytes: touchedBytes,
    shareBytes: share,
  });
  const peerSide = side('pyarrow.dataset over the same Parquet, page cache dropped', peerCold, { bytesRead: peerRchar });
  run.record({
    id: 'selective-cold',
    title: `Selective query cold (1 symbol, ${w.label}: ${w.rows.toLocaleString('en-US')} rows)`,
    kind: 'latency',
    fd: fdSide,
    peer: peerSide,
    target: null,
    notes: [
      ...(wrong.length ? [`wrong row counts: ${wrong.map((r) => r.rows).join(', ')} (expected ${w.rows})`] : []),
      `Bytes read = what the server process read through read()/pread() during GetFlightInfo + DoGet (/proc/<pid>/io rchar, median), measured, not reported by the server. ` +
        `flightdeck's own count (health.io.bytesRead: footers plus the column chunks of the row groups it read) ${reported.n > 0 ? formatBytes(reported.median) : 'not reported'}; ` +
        `FlightInfo.total_bytes (its estimate of the selected row groups' Parquet bytes) ${formatBytes(estimated)}; ` +
        `the ${touched.length} touched day partitions' files (describe_dataset) ${formatBytes(touchedBytes)}; ` +
        `the selected rows' share of the dataset's ${formatBytes(describe.bytes)} = ${formatBytes(share)}.`,
    ],
    cells: { fd: readCell(fdSide, rchar.median, reported.median), peer: readCell(peerSide, peerRchar.median) },
  });
  const factor = rchar.median / share;
  const reportedFactor = reported.n > 0 ? reported.median / share : NaN;
  run.rows.at(-1)!.target = {
    text: "bytes read ≤ 2× the selected rows' share",
    measured:
      `${formatBytes(rchar.median)} read (process I/O) = ${factor.toFixed(1)}× the share (${formatBytes(share)})` +
      (Number.isFinite(reportedFactor) ? `; server-reported ${formatBytes(reported.median)} = ${reportedFactor.toFixed(1)}×` : ''),
    met: Number.isFinite(factor) ? factor <= 2 : null,
  };

  // Hot: the same query again and again on a warm server, against the peer's in-memory table.
  const fdUrl = run.fdUrl();
  const peerUrl = run.peerUrl();
  await run.get(fdUrl, { cmd: fdQuery });
  await run.get(peerUrl, { cmd: { source: 'memory', ...peerQuery } });
  const fdHot: GetResult[] = [];
  const peerHot: GetResult[] = [];
  for (let i = 0; i < run.cfg.reps.selectiveHot; i++) {
    fdHot.push(await run.get(fdUrl, { cmd: fdQuery }));
    peerHot.push(await run.get(peerUrl, { cmd: { source: 'memory', ...peerQuery } }));
  }
  run.record({
    id: 'selective-hot',
    title: `Selective query hot (1 symbol, ${w.label})`,
    kind: 'latency',
    fd: side('flightdeck, warm', fdHot),
    peer: side('pyarrow in-memory table, filtered per request', peerHot),
    target: null,
    notes: ['Latency of GetFlightInfo + every DoGet; the peer filters its in-memory table with pyarrow.dataset on each request.'],
  });
}
