/**
 * The rows, notes and metadata one benchmark run collects for its report (report.ts renders them),
 * and the targets each scenario is held to.
 */
import { speedRatio, type Row } from './report.js';

/** The targets by scenario, so a failed scenario still lists its target as not measured. */
const TARGETS: Record<string, string> = {
  ingest: '≥ 1.5× pyarrow write_dataset + fsync',
  cold: '≥ 1.0× pyarrow reading the same Parquet',
  selective: "bytes read ≤ 2× the selected rows' share",
  hot: '≥ 1.0× pyarrow serving an in-memory table',
  larger: '≥ 2.0× the peer decoding the same Parquet',
  capacity: '≥ 50% of the loopback TCP ceiling',
  upsert: '≥ 1.5× the peer read-merge-rewrite',
  graphql: 'p99 < 25 ms',
};

export class ReportRows {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly meta: Record<string, unknown> = {};
  /** Per scenario: the 1-minute load average before it and how long it took. */
  readonly scenarioLog: { id: string; load: number; seconds: number }[] = [];

  /** Adds a row; the ratio defaults to flightdeck's speed over the peer's. */
  record(row: Omit<Row, 'ratio'> & { ratio?: number | null }): void {
    this.rows.push({ ...row, ratio: row.ratio !== undefined ? row.ratio : speedRatio(row.kind, row.fd, row.peer) });
  }

  /** Sets the last row's target from its ratio. */
  target(text: string, ok: (ratio: number) => boolean): void {
    const row = this.rows.at(-1)!;
    row.target = { text, measured: row.ratio === null ? 'n/a' : `${row.ratio.toFixed(2)}×`, met: row.ratio === null ? null : ok(row.ratio) };
  }

  /** A row saying the scenario failed (`msg`), with its target (if it has one) not measured. */
  failed(id: string, title: string, msg: string): void {
    this.rows.push({
      id,
      title,
      kind: 'throughput',
      fd: null,
      peer: null,
      ratio: null,
      target: TARGETS[id] ? { text: TARGETS[id], measured: `not measured (${msg})`, met: null } : null,
      notes: [`failed: ${msg}`],
      cells: { fd: 'failed', peer: '—' },
    });
  }
}
