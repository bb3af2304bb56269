/**
 * Structural checks of a received record batch before anything reads its values: Arrow JS builds
 * columns as views of whatever buffers the IPC header names, so a header that lies about a row
 * count, or offsets that point outside the string data, would otherwise fail deep in storage as
 * INTERNAL (or read garbage). Each fault is INVALID_ARGUMENT naming the column.
 */
import { DataType, type Data, type RecordBatch } from 'apache-arrow';
import { FlightError } from '@flightdeck/proto';

function fail(column: string, problem: string): never {
  throw new FlightError('INVALID_ARGUMENT', `record batch column "${column}": ${problem}`);
}

function checkOffsets(column: string, offsets: ArrayLike<number | bigint> | undefined, start: number, end: number, limit: number): void {
  if (offsets === undefined || offsets.length < end + 1) fail(column, `has ${offsets?.length ?? 0} offsets for ${end - start} values`);
  let previous = Number(offsets[start]!);
  if (previous < 0) fail(column, `offset ${previous} is negative`);
  for (let i = start + 1; i <= end; i++) {
    const next = Number(offsets[i]!);
    if (next < previous) fail(column, `offsets decrease at value ${i - 1} (${previous} > ${next})`);
    previous = next;
  }
  if (previous > limit) fail(column, `last offset ${previous} lies beyond the ${limit} bytes or values of data`);
}

function checkData(data: Data, column: string): void {
  const { offset, length, type } = data;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) fail(column, `invalid length ${length}`);
  const end = offset + length;
  const nullCount = data.nullCount;
  if (nullCount > length) fail(column, `null count ${nullCount} exceeds its ${length} rows`);
  if (nullCount > 0) {
    const bitmap = data.nullBitmap;
    if (bitmap === undefined || bitmap.byteLength * 8 < end) fail(column, `validity bitmap of ${bitmap?.byteLength ?? 0} bytes is short for ${length} rows`);
  }
  if (DataType.isNull(type)) return;
  if (DataType.isBool(type)) {
    if ((data.values as Uint8Array | undefined)?.byteLength === undefined || (data.values as Uint8Array).byteLength * 8 < end) {
      fail(column, `bool buffer is short for ${length} rows`);
    }
    return;
  }
  if (DataType.isUtf8(type) || DataType.isBinary(type) || DataType.isLargeUtf8(type) || DataType.isLargeBinary(type)) {
    const values = data.values as Uint8Array | undefined;
    checkOffsets(column, data.valueOffsets as ArrayLike<number | bigint> | undefined, offset, end, values?.byteLength ?? 0);
    return;
  }
  if (DataType.isDictionary(type)) {
    const indices = data.values as ArrayLike<number | bigint> | undefined;
    if (indices === undefined || indices.length < end) fail(column, `has ${indices?.length ?? 0} dictionary indices for ${length} rows`);
    const dictionary = data.dictionary;
    if (dictionary === undefined) fail(column, 'has no dictionary');
    for (const chunk of dictionary.data) checkData(chunk, `${column} (dictionary)`);
    const size = dictionary.length;
    const bitmap = nullCount > 0 ? data.nullBitmap : undefined;
    for (let i = offset; i < end; i++) {
      if (bitmap !== undefined && ((bitmap[i >> 3]! >> (i & 7)) & 1) === 0) continue;
      const index = Number(indices[i]!);
      if (!(index >= 0 && index < size)) fail(column, `dictionary index ${index} at row ${i - offset} is outside the ${size} dictionary values`);
    }
    return;
  }
  if (
    DataType.isInt(type) ||
    DataType.isFloat(type) ||
    DataType.isTimestamp(type) ||
    DataType.isDate(type) ||
    DataType.isTime(type) ||
    DataType.isDecimal(type) ||
    DataType.isDuration(type) ||
    DataType.isInterval(type) ||
    DataType.isFixedSizeBinary(type)
  ) {
    const values = data.values as ArrayLike<unknown> | undefined;
    if (values === undefined || values.length < end * data.stride) fail(column, `values buffer holds ${values?.length ?? 0} values for ${length} rows`);
    return;
  }
  if (DataType.isList(type) || DataType.isLargeList(type) || DataType.isMap(type)) {
    const child = data.children[0];
    checkOffsets(column, data.valueOffsets as ArrayLike<number | bigint> | undefined, offset, end, child?.length ?? 0);
  } else if (DataType.isFixedSizeList(type)) {
    const child = data.children[0];
    if (child === undefined || child.length < end * type.listSize) fail(column, `child holds too few values for ${length} rows`);
  } else if (DataType.isStruct(type)) {
    for (const child of data.children) if (child.length < end) fail(column, `a child holds ${child.length} values for ${length} rows`);
  }
  data.children.forEach((child, i) => checkData(child, `${column}.${type.children?.[i]?.name ?? i}`));
}

/** INVALID_ARGUMENT unless every column's buffers hold what the batch claims. */
export function validateRecordBatch(batch: RecordBatch): void {
  batch.schema.fields.forEach((field, i) => {
    const column = batch.data.children[i];
    if (column === undefined) fail(field.name, 'is missing from the batch');
    if (column.length !== batch.numRows) fail(field.name, `has ${column.length} rows, the batch ${batch.numRows}`);
    checkData(column, field.name);
  });
}

/** Passes batches through once they are checked. */
export async function* validatedBatches(batches: AsyncIterable<RecordBatch>): AsyncGenerator<RecordBatch> {
  for await (const batch of batches) {
    validateRecordBatch(batch);
    yield batch;
  }
}
