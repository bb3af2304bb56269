/**
 * `flightdeck copy --from <url> --to <url> --dataset <name>`: a query's rows streamed from one
 * server into a dataset on another (created with the source's spec when missing), as a series of
 * commits: one DoPut per endpoint of the source's plan, pinned to the source version the copy
 * started on. After each commit the endpoint is recorded in a state file (`--state`, temp +
 * rename); running the same command again after an interruption skips the endpoints recorded and
 * puts the rest. An endpoint interrupted mid-put committed nothing, or committed whole and is put
 * again: puts are upserts by primary key, so a repeat duplicates nothing. The state file is
 * removed when the copy completes.
 */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { FlightError, pathDescriptor, type FlightClient } from '@flightdeck/proto';
import { DATASET_NAME, describeZodError } from '@flightdeck/contract';
import type { RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import { backoffDelay, describeDataset, isTransientError, parsePutMetadata, wireSchema, type DatasetDescription } from '../sdk/index.js';
import { plainBatches } from './arrow-writers.js';
import { writeFileAtomic } from './backup-manifest.js';
import { RemoteFailure, UsageError } from './cli-error.js';
import { formatCount, formatCounted, formatSeconds } from './human-units.js';
import { ProgressBar } from './progress-bar.js';
import { createBody, planVersionRead, readEndpoint, specDifference, type VersionRead } from './version-read.js';

export interface CopyOptions {
  from: string;
  to: string;
  dataset: string;
  as?: string;
  symbols?: string[];
  start?: string;
  end?: string;
  state?: string;
  json?: boolean;
  progress: boolean;
}

export interface CopySummary {
  from: string;
  to: string;
  dataset: string;
  as: string;
  source_version: number;
  version: number | null;
  rows: number;
  commits: number;
  resumed_after: number;
  seconds: number;
  rows_per_s: number;
}

const stateSchema = z.strictObject({
  format: z.literal('flightdeck-copy-state'),
  from: z.string(),
  to: z.string(),
  dataset: z.string().regex(DATASET_NAME),
  as: z.string().regex(DATASET_NAME),
  symbols: z.array(z.string()).nullable(),
  start: z.string().nullable(),
  end: z.string().nullable(),
  source_version: z.number().int().nonnegative(),
  /** SHA-256 (hex) of the tickets of the endpoints committed. */
  done: z.array(z.string()),
  rows: z.number().int().nonnegative(),
});
type CopyState = z.infer<typeof stateSchema>;

const MAX_ATTEMPTS = 5;

export function defaultStatePath(as: string): string {
  return `flightdeck-copy-${as}.state.json`;
}

async function readState(path: string): Promise<CopyState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--state ${path}: not JSON (${(err as Error).message}); delete it to start the copy over`);
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`--state ${path}: ${describeZodError(parsed.error, 'copy state')}; delete it to start the copy over`);
  return parsed.data;
}

async function writeState(path: string, state: CopyState): Promise<void> {
  const full = resolve(path);
  await writeFileAtomic(dirname(full), basename(full), `${JSON.stringify(state)}\n`);
}

/** The first option in which a recorded copy differs from this one, or null. */
function stateMismatch(state: CopyState, wanted: Omit<CopyState, 'format' | 'source_version' | 'done' | 'rows'>): string | null {
  for (const key of ['from', 'to', 'dataset', 'as', 'symbols', 'start', 'end'] as const) {
    if (JSON.stringify(state[key]) !== JSON.stringify(wanted[key])) return `${key} ${JSON.stringify(state[key])}`;
  }
  return null;
}

/** A server's refusal, named by the server it came from. */
async function on<T>(url: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw err instanceof FlightError ? new RemoteFailure(url, err) : err;
  }
}

async function targetDataset(client: FlightClient, url: string, name: string, plan: VersionRead): Promise<DatasetDescription> {
  try {
    const d = await describeDataset(client, name);
    const difference = specDifference(d, plan.spec);
    if (difference !== null) throw new UsageError(`dataset "${name}" on ${url} differs from "${plan.description.name}": it has ${difference}; copy into another name with --as`);
    return d;
  } catch (err) {
    if (!(err instanceof FlightError) || err.code !== 'NOT_FOUND') throw err;
  }
  try {
    return await client.doActionJson<DatasetDescription>('create_dataset', createBody(name, plan.spec));
  } catch (err) {
    if (err instanceof FlightError && err.code === 'ALREADY_EXISTS') return targetDataset(client, url, name, plan);
    throw err;
  }
}

export interface CopyClients {
  source(): Promise<FlightClient>;
  target(): Promise<FlightClient>;
}

export async function runCopy(opts: CopyOptions, clients: CopyClients, out: Writable, err: NodeJS.WriteStream): Promise<CopySummary> {
  const as = opts.as ?? opts.dataset;
  if (!DATASET_NAME.test(as)) throw new UsageError(`--as "${as}" is not a dataset name (^[a-z][a-z0-9_]{0,62}$)`);
  const statePath = opts.state ?? defaultStatePath(as);
  const wanted = { from: opts.from, to: opts.to, dataset: opts.dataset, as, symbols: opts.symbols ?? null, start: opts.start ?? null, end: opts.end ?? null };
  const recorded = await readState(statePath);
  if (recorded !== null) {
    const mismatch = stateMismatch(recorded, wanted);
    if (mismatch !== null) {
      throw new UsageError(`--state ${statePath} records another copy (${mismatch}); run that copy again to finish it, or delete the file to start this one`);
    }
  }

  const source = await on(opts.from, clients.source());
  const plan = await on(
    opts.from,
    planVersionRead(source, {
      dataset: opts.dataset,
      ...(recorded === null ? {} : { asOf: recorded.source_version }),
      ...(opts.symbols ? { symbols: opts.symbols } : {}),
      ...(opts.start ? { from: opts.start } : {}),
      ...(opts.end ? { to: opts.end } : {}),
    }),
  );
  const target = await on(opts.to, clients.target());
  const described = await on(opts.to, targetDataset(target, opts.to, as, plan));

  const state: CopyState = recorded ?? { format: 'flightdeck-copy-state', ...wanted, source_version: plan.version, done: [], rows: 0 };
  const resumedAfter = state.done.length;
  const done = new Set(state.done);
  await writeState(statePath, state);

  const total = plan.totalRecords >= 0 ? plan.totalRecords : null;
  const progress = new ProgressBar(err, opts.progress, { phase: 'copying' }).start();
  progress.update({ rows: state.rows });
  const schema = wireSchema(plan.schema);
  let version: number | null = described.version;
  let commits = 0;
  try {
    // A dataset whose schema is not fixed yet has no rows to copy.
    const tickets = plan.spec.schema.length === 0 ? [] : plan.tickets;
    for (const [i, ticket] of tickets.entries()) {
      const id = createHash('sha256').update(ticket).digest('hex');
      if (done.has(id)) continue;
      progress.update({ phase: `copying ${i + 1}/${tickets.length}${total === null ? '' : ` of ${formatCount(total)} rows`}` });
      let rows = 0;
      for (let attempt = 0; ; attempt++) {
        const before = progress.state.rows;
        rows = 0;
        let sourceFailure: unknown = null;
        const read = async function* (): AsyncGenerator<RecordBatch> {
          try {
            yield* readEndpoint(source, ticket, (b) => {
              rows += b.numRows;
              progress.add(b.numRows, b.data.byteLength);
            });
          } catch (e) {
            sourceFailure = e;
            throw e;
          }
        };
        try {
          const result = await target.doPut(pathDescriptor(as), plainBatches(read(), plan.schema), { schema });
          version = parsePutMetadata(result.appMetadata)?.version ?? version;
          break;
        } catch (e) {
          progress.update({ rows: before });
          if (attempt + 1 >= MAX_ATTEMPTS || !isTransientError(e)) {
            // A DoGet failure surfaces through the put: name the server it came from.
            throw e instanceof FlightError ? new RemoteFailure(sourceFailure === e ? opts.from : opts.to, e) : e;
          }
          await new Promise((r) => setTimeout(r, backoffDelay(attempt)));
        }
      }
      commits++;
      done.add(id);
      state.done.push(id);
      state.rows += rows;
      await writeState(statePath, state);
    }
    await rm(statePath, { force: true });
    progress.stop();
    const seconds = progress.elapsed() / 1000;
    const copied = state.rows;
    const summary: CopySummary = {
      from: opts.from,
      to: opts.to,
      dataset: opts.dataset,
      as,
      source_version: plan.version,
      version,
      rows: copied,
      commits,
      resumed_after: resumedAfter,
      seconds,
      rows_per_s: Math.round((copied - (recorded?.rows ?? 0)) / seconds),
    };
    const resumed = resumedAfter > 0 ? ` (resumed after ${formatCounted(resumedAfter, 'commit')})` : '';
    out.write(
      opts.json
        ? `${JSON.stringify(summary)}\n`
        : `${opts.dataset} -> ${as}: copied ${formatCounted(copied, 'row')} of version ${plan.version} from ${opts.from} to ${opts.to} in ${formatCounted(commits, 'commit')}${resumed}, ${formatSeconds(seconds * 1000)}, ${formatCount(summary.rows_per_s)} rows/s; version ${version ?? '?'}\n`,
    );
    return summary;
  } finally {
    progress.stop();
  }
}
