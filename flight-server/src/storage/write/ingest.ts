/**
 * The rows of one DoPut stream on their way in: each batch checked against the dataset schema,
 * nulls in key and time columns refused, time values kept in the contract's domain, and rows
 * split by time partition. Nothing is written until the stream ends whole.
 */
import type { RecordBatch, Schema, Timestamp, TimeUnit } from 'apache-arrow';
import { int64ExtremeRows } from '../kernels/column-data.js';
import { conformBatch } from '../kernels/conform.js';
import { takeRows } from '../kernels/take-filter.js';
import { timeColumnInt64, toNanoseconds } from '../kernels/time-column.js';
import { StorageError } from '../errors.js';
import { groupRowsByPartition, partitionOf, type PartitionRange } from '../partition-path.js';
import { formatIsoMs, MAX_TIME_NS, MIN_TIME_NS, type PartitionScheme } from '@flightdeck/contract';

export interface IngestLimits {
  /** Bytes of Arrow data one stream may hold before it is committed. */
  maxStreamBytes: number;
}

export class IngestBuffer {
  readonly partitions = new Map<string, { range: PartitionRange; batches: RecordBatch[] }>();
  rows = 0;
  bytes = 0;

  constructor(
    readonly schema: Schema,
    private readonly roles: { timeColumn: string; keyColumns: string[]; partition: PartitionScheme },
    private readonly limits: IngestLimits,
  ) {}

  add(incoming: RecordBatch): void {
    const batch = conformBatch(incoming, this.schema);
    if (batch.numRows === 0) return;
    for (const column of [this.roles.timeColumn, ...this.roles.keyColumns]) {
      const vector = batch.getChild(column)!;
      if (vector.nullCount > 0) {
        let row = 0;
        while (row < vector.length && vector.isValid(row)) row++;
        throw new StorageError('INVALID_ARGUMENT', `column "${column}" has a null at row ${this.rows + row}; key and time columns cannot be null`);
      }
    }
    const unit = (this.schema.fields.find((f) => f.name === this.roles.timeColumn)!.type as Timestamp).unit;
    const raw = timeColumnInt64(batch, this.roles.timeColumn);
    // The batch's earliest and latest times decide the common case without a BigInt per row: all
    // rows in the contract's domain, and (a crawler's minute, most of a large put's batches) all
    // in one partition. A BigInt time and a row index per row took 2.2 s of main thread over the
    // bench's 10M-row put (65,536-row batches).
    const [minRow, maxRow] = int64ExtremeRows(raw);
    const minNs = toNanoseconds(raw[minRow]!, unit);
    const maxNs = toNanoseconds(raw[maxRow]!, unit);
    if (outsideDomain(minNs) || outsideDomain(maxNs)) this.#refuseOutOfDomain(raw, unit);
    const first = partitionOf(minNs, this.roles.partition);
    if (maxNs < first.endNs) {
      this.#append(first, batch);
    } else {
      const groups = groupRowsByPartition(raw, unit, this.roles.partition);
      for (const group of groups.values()) this.#append(group.range, takeRows(batch, Uint32Array.from(group.rows)));
    }
    this.rows += batch.numRows;
    this.bytes += batchBytes(batch);
    if (this.bytes > this.limits.maxStreamBytes) {
      throw new StorageError(
        'RESOURCE_EXHAUSTED',
        `DoPut stream holds more than ${this.limits.maxStreamBytes} bytes of Arrow data (MAX_PUT_BYTES); split it into several DoPuts`,
      );
    }
  }

  #append(range: PartitionRange, part: RecordBatch): void {
    let target = this.partitions.get(range.key);
    if (!target) {
      target = { range, batches: [] };
      this.partitions.set(range.key, target);
    }
    target.batches.push(part);
  }

  /** Throws INVALID_ARGUMENT naming the first row whose time is outside the contract's domain. */
  #refuseOutOfDomain(raw: BigInt64Array, unit: TimeUnit): never {
    for (let i = 0; i < raw.length; i++) {
      const ns = toNanoseconds(raw[i]!, unit);
      if (outsideDomain(ns)) {
        throw new StorageError(
          'INVALID_ARGUMENT',
          `column "${this.roles.timeColumn}" row ${this.rows + i}: time ${raw[i]} (${formatIsoMs(ns)}) is outside [1678-01-01, 2262-01-01) UTC`,
        );
      }
    }
    throw new Error('unreachable: a time outside the domain was found, then not');
  }
}

/** Whether a time (epoch ns) is outside the contract's domain [MIN_TIME_NS, MAX_TIME_NS). */
function outsideDomain(ns: bigint): boolean {
  return ns < MIN_TIME_NS || ns >= MAX_TIME_NS;
}

export function batchBytes(batch: RecordBatch): number {
  let total = 0;
  const visit = (data: { buffers: unknown[]; children: unknown[]; dictionary?: unknown }) => {
    for (const b of data.buffers) if (ArrayBuffer.isView(b)) total += b.byteLength;
    for (const c of data.children) visit(c as typeof data);
  };
  visit(batch.data as unknown as { buffers: unknown[]; children: unknown[] });
  return total;
}
