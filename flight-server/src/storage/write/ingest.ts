/**
 * The rows of one DoPut stream on their way in: each batch checked against the dataset schema,
 * nulls in key and time columns refused, time values kept in the contract's domain, and rows
 * split by time partition. Nothing is written until the stream ends whole.
 */
import type { RecordBatch, Schema, Timestamp } from 'apache-arrow';
import { conformBatch } from '../kernels/conform.js';
import { takeRows } from '../kernels/take-filter.js';
import { timeColumnInt64, toNanoseconds } from '../kernels/time-column.js';
import { StorageError } from '../errors.js';
import { groupRowsByPartition, type PartitionRange } from '../partition-path.js';
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
    const times = new Array<bigint>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const ns = toNanoseconds(raw[i]!, unit);
      if (ns < MIN_TIME_NS || ns >= MAX_TIME_NS) {
        throw new StorageError(
          'INVALID_ARGUMENT',
          `column "${this.roles.timeColumn}" row ${this.rows + i}: time ${raw[i]} (${formatIsoMs(ns)}) is outside [1678-01-01, 2262-01-01) UTC`,
        );
      }
      times[i] = ns;
    }
    const groups = groupRowsByPartition((i) => times[i]!, times.length, this.roles.partition);
    for (const [key, group] of groups) {
      const part = groups.size === 1 ? batch : takeRows(batch, Uint32Array.from(group.rows));
      let target = this.partitions.get(key);
      if (!target) {
        target = { range: group.range, batches: [] };
        this.partitions.set(key, target);
      }
      target.batches.push(part);
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
