/**
 * DoGet with `follow` (CONTRACT "Descriptors"): the query's rows at the current version, then the
 * matching rows of every later commit, in commit order, each record batch's app_metadata the JSON
 * `{"version":V}` of the version it came from, until the client cancels, its deadline passes, the
 * dataset is dropped or the server shuts down.
 *
 * The first rows always include a batch (empty when no row matches) carrying the version the
 * stream starts from. The stream listens to the store's commit notifications before it reads its first rows, so no
 * commit falls between the two. A notification only queues the version; its rows are read from
 * the version's files when the stream is ready to send them, under the DoGet memory budget, and
 * written with backpressure. A follower whose queue reaches FLIGHT_FOLLOW_MAX_PENDING versions
 * (it reads slower than commits arrive) is cut with RESOURCE_EXHAUSTED: what it holds is that
 * queue of small notices plus at most MAX_BYTES_IN_FLIGHT of unflushed messages, never the rows
 * of the versions it is behind.
 */
import type * as grpc from '@grpc/grpc-js';
import { Message, type RecordBatch } from 'apache-arrow';
import { bodyLengthOf, FlightDataEncoder, FlightError, type FlightData, type Ticket } from '@flightdeck/proto';
import type { ReadQuery } from '@flightdeck/contract';
import type { CommitEvent } from '../../storage/commit-feed.js';
import { batchOf } from '../../storage/kernels/column-data.js';
import { nullColumn } from '../../storage/kernels/conform.js';
import type { SliceData } from '../../storage/read/read-plan.js';
import type { CallLog } from '../observe/call-log.js';
import { deadlineOf, MAX_BYTES_IN_FLIGHT, writeWithBackpressure } from '../transport/stream-write.js';
import { forwardIpcStreams } from '../wire/ipc-forward.js';
import type { HandlerContext } from './call-runner.js';

/** Record batches are split into messages of about this size (as DoGet's). */
const MAX_SEND_MESSAGE_BYTES = 4 * 1024 * 1024;
/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function reservation(data: SliceData): number {
  return data.memoryBytes + Math.min(MAX_BYTES_IN_FLIGHT, data.estimatedBytes);
}

function versionMetadata(version: number): Uint8Array {
  return Buffer.from(JSON.stringify({ version }), 'utf8');
}

/** Why a follower stopped other than by its client. */
type Stop = { kind: 'overflow' } | { kind: 'dropped' } | { kind: 'shutdown' };

/** Serves one `follow` DoGet on `call`; resolves when the client went, throws the status that ended it otherwise. */
export async function followQuery(ctx: HandlerContext, call: grpc.ServerWritableStream<Ticket, FlightData>, log: CallLog, query: ReadQuery): Promise<void> {
  const { store, gate } = ctx;
  const maxPending = gate.followMaxPending;
  const pending: CommitEvent[] = [];
  const cut = new AbortController();
  let stop: Stop | null = null;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const end = (why: Stop) => {
    stop ??= why;
    cut.abort();
    notify();
  };
  let from = Number.POSITIVE_INFINITY;
  const unsubscribe = store.commits.subscribe(query.dataset, (event) => {
    if (event.kind === 'drop') return end({ kind: 'dropped' });
    if (event.version <= from || stop) return;
    if (pending.length >= maxPending) return end({ kind: 'overflow' });
    pending.push(event);
    notify();
  });
  const onShutdown = () => end({ kind: 'shutdown' });
  gate.shutdownSignal.addEventListener('abort', onShutdown);
  call.on('cancelled', notify);
  call.on('close', notify);
  const deadline = deadlineOf(call);
  let timer: NodeJS.Timeout | undefined;
  const watchDeadline = () => {
    const left = deadline - Date.now();
    if (left > 0) timer = setTimeout(watchDeadline, Math.min(left, MAX_TIMER_MS));
    else notify();
  };
  if (Number.isFinite(deadline)) watchDeadline();
  const gone = () => stop !== null || call.cancelled || call.destroyed || Date.now() >= deadline;

  try {
    // No await between subscribing and pinning the version: every later commit is queued.
    const m = store.manifest(query.dataset);
    from = m.version;
    if (m.fields === null) {
      throw new FlightError('FAILED_PRECONDITION', `dataset "${m.name}" has no schema yet; follow it once its first DoPut or create_dataset fields fix one`);
    }
    // The stream keeps the columns it starts with (columns added later by evolve_schema are not in it).
    const columns = query.columns ?? m.fields.map((f) => f.name);
    const pinned = { ...query, columns, asOf: m.version };
    const first = await store.read({ query: pinned, partitions: null });
    const schema = first.schema;
    const onRows = (rows: number) => {
      log.rows += rows;
      gate.checkGetRows(log.rows);
    };

    async function* messages(): AsyncGenerator<FlightData> {
      yield { dataHeader: Message.encode(Message.from(schema)), dataBody: new Uint8Array(0), appMetadata: new Uint8Array(0) };
      yield* versionMessages(first, m.version, true);
      for (;;) {
        while (pending.length === 0) {
          if (gone()) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        if (gone()) return;
        const event = pending.shift()!;
        const data = await store.readCommitted(event, query, columns);
        if (data) yield* versionMessages(data, event.version);
      }
    }

    /**
     * One version's rows, self-contained: dictionaries are sent again before its first batch. The
     * first version always sends a batch, empty when no row matches, so a client knows where the
     * stream starts (and can tell the query's rows from the commits that follow).
     */
    async function* versionMessages(data: SliceData, version: number, first = false): AsyncGenerator<FlightData> {
      const meta = versionMetadata(version);
      let batches = 0;
      const counted = (rows: number) => {
        batches++;
        onRows(rows);
      };
      const lease = await gate.streamMemory.acquire(reservation(data), call);
      try {
        const encoder = new FlightDataEncoder({ maxMessageBytes: MAX_SEND_MESSAGE_BYTES });
        encoder.schemaMessage(schema);
        const encode = function* (batch: RecordBatch): Generator<FlightData> {
          for (const message of encoder.encodeBatch(batch)) {
            if (Message.decode(message.dataHeader).isRecordBatch()) message.appMetadata = meta;
            yield message;
          }
        };
        if (data.kind === 'ipc') {
          yield* forwardIpcStreams(schema, data.streams, counted, meta);
        } else {
          for await (const batch of data.batches) {
            counted(batch.numRows);
            yield* encode(batch);
          }
        }
        if (first && batches === 0) yield* encode(batchOf(schema, schema.fields.map((f) => nullColumn(f.type, 0)), 0));
      } finally {
        lease.release();
      }
    }

    const stream = messages();
    try {
      await writeWithBackpressure(call, stream, (msg) => {
        log.bytes += msg.dataHeader.byteLength + bodyLengthOf(msg);
      }, undefined, cut.signal);
    } finally {
      await stream.return(undefined);
    }
    const why = stop as Stop | null;
    if (why === null) return;
    switch (why.kind) {
      case 'overflow':
        throw new FlightError(
          'RESOURCE_EXHAUSTED',
          `this follower fell ${maxPending} commits behind (FLIGHT_FOLLOW_MAX_PENDING=${maxPending}) and was cut; read faster, follow fewer symbols, or follow again`,
        );
      case 'dropped':
        throw new FlightError('NOT_FOUND', `dataset "${query.dataset}" was dropped while followed`);
      case 'shutdown':
        throw new FlightError('UNAVAILABLE', 'the server is shutting down; follow again once it is back');
      default: {
        const never: never = why;
        throw new Error(`unknown stop ${String(never)}`);
      }
    }
  } finally {
    unsubscribe();
    pending.length = 0;
    clearTimeout(timer);
    gate.shutdownSignal.removeEventListener('abort', onShutdown);
    call.off('cancelled', notify);
    call.off('close', notify);
  }
}
