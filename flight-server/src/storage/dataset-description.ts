/** A version's manifest as describe_dataset (and the calls that change a dataset's shape) answer it: totals and per-partition ranges. */
import { formatIsoMs, type DatasetDescription } from '@flightdeck/contract';
import { manifestBytes, manifestRows, type Manifest } from './manifest.js';

export function describeManifest(m: Manifest): DatasetDescription {
  const byPartition = new Map<string, { files: number; rows: number; bytes: number; min: bigint; max: bigint }>();
  for (const f of m.files) {
    const p = byPartition.get(f.partition) ?? { files: 0, rows: 0, bytes: 0, min: BigInt(f.minTimeNs), max: BigInt(f.maxTimeNs) };
    p.files++;
    p.rows += f.rows;
    p.bytes += f.bytes;
    if (BigInt(f.minTimeNs) < p.min) p.min = BigInt(f.minTimeNs);
    if (BigInt(f.maxTimeNs) > p.max) p.max = BigInt(f.maxTimeNs);
    byPartition.set(f.partition, p);
  }
  return {
    name: m.name,
    schema: m.fields ?? [],
    time_column: m.timeColumn,
    key_columns: m.keyColumns,
    partition: m.partition,
    version: m.version,
    rows: manifestRows(m),
    bytes: manifestBytes(m),
    partitions: [...byPartition].map(([key, p]) => ({
      key,
      files: p.files,
      rows: p.rows,
      bytes: p.bytes,
      min_time: formatIsoMs(p.min),
      max_time: formatIsoMs(p.max),
    })),
    ...(m.retention ? { retention: m.retention } : {}),
  };
}
