/**
 * A one-row batch whose every column, the time column included, is null. The contract refuses
 * any DoPut stream holding a null time value, whole and with nothing committed, so sending it is
 * how a put that finds bad input mid-stream makes sure the server discards what it already got.
 * Cancelling is not enough: Node's HTTP/2 closes the request body (END_STREAM) before it sends
 * RST_STREAM, and a server may take the ended stream for a complete one.
 */
import { RecordBatch, Struct, makeData, vectorFromArray, type Schema } from 'apache-arrow';

export function poisonBatch(schema: Schema): RecordBatch {
  const children = schema.fields.map((f) => vectorFromArray([null], f.type).data[0]!);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children }));
}
