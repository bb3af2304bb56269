/**
 * Sends Arrow IPC read from storage as FlightData without decoding it: each dictionary and record
 * batch message becomes one FlightData (data_header = the bare flatbuffer, data_body = its body),
 * after one Schema message of our own. Storage's own schema messages are dropped, so the client
 * sees exactly the schema GetFlightInfo announced.
 */
import { Message, type Schema } from 'apache-arrow';
import { splitIpcStream, type FlightData } from '@flightdeck/proto';

const EMPTY = new Uint8Array(0);

export async function* forwardIpcStreams(
  schema: Schema,
  streams: AsyncIterable<Uint8Array>,
  onRows: (rows: number) => void,
  /** app_metadata of every record batch message (a follower's `{"version":V}`); the Schema message is left out when set. */
  batchMetadata?: Uint8Array,
): AsyncGenerator<FlightData> {
  if (!batchMetadata) yield { dataHeader: Message.encode(Message.from(schema)), dataBody: EMPTY, appMetadata: EMPTY };
  for await (const ipc of streams) {
    for (const { header, body } of splitIpcStream(ipc)) {
      const message = Message.decode(header);
      if (message.isSchema()) continue;
      const batch = message.isRecordBatch();
      if (batch) onRows(message.header().length);
      yield { dataHeader: header, dataBody: body, appMetadata: batch && batchMetadata ? batchMetadata : EMPTY };
    }
  }
}
