/**
 * The storage engine: datasets of time-partitioned Parquet files with a versioned catalog.
 * Writes are merge-on-write: a DoPut's rows replace any stored row with the same primary key by
 * rewriting just the files whose key and time ranges overlap the new rows, so every version's
 * files hold disjoint primary keys and readers never deduplicate.
 */
import { mkdir, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { tableFromIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { concatBatches } from './kernels/concat.js';
import { conformBatch } from './kernels/conform.js';
import { lastWinsUnique } from './kernels/dedupe.js';
import { sortedRangeForKeys, type RowRange } from './kernels/search.js';
import { sortPermutation } from './kernels/sort.js';
import { filterBatch, takeRows } from './kernels/take-filter.js';
import { commitManifest, fsyncPath, listVersions, readManifest, removeCatalogLeftovers, CATALOG_DIR, versionFileName } from './catalog.js';
import { DataFileWriter } from './write/data-file-writer.js';
import { checkDatasetName, checkDatasetSpec, checkSchemaRoles, fieldsFromSchema, manifestSchemaOf, schemaFromFields, type DatasetSpec } from './dataset-spec.js';
import { StorageError } from './errors.js';
import {
  DATASET_NAME,
  describeSchemaMismatch,
  formatIsoMs,
  typeFromString,
  typeToString,
  type DatasetDescription,
  type FieldSpec,
  type ReadQuery,
} from '@flightdeck/contract';
import { IngestBuffer } from './write/ingest.js';
import { KeyedMutex } from './keyed-mutex.js';
import { manifestBytes, manifestRows, type FileEntry, type Manifest } from './manifest.js';
import { rowGroupStats } from './io/parquet-io.js';
import { ParquetReader, type ParquetIoStats } from './io/parquet-reader.js';
import { IpcTierRangeReader } from './io/ipc-tier-ranges.js';
import { ParquetEncoderPool } from './write/parquet-encoder-pool.js';
import type { ReadPlan, ReadSlice, SliceData } from './read/read-plan.js';
import { IpcCache, type CacheStats } from './io/ipc-cache.js';
import { planRead, readSlice, type ReadOptions } from './read/reader.js';
import { HeldWindows, type ReadWindowStats } from './read/read-window.js';

export interface StoreOptions extends ReadOptions {
  dataDir: string;
  /** Bytes of decoded Arrow IPC the hot cache keeps. */
  cacheBytes: number;
  /** Whether each data file also gets an uncompressed Arrow IPC copy for full reads. */
  ipcTier: boolean;
  /** Worker threads encoding Parquet; 0 encodes on the main thread. */
  encoderThreads?: number;
  rowGroupRows: number;
  maxPutBytes: number;
}

export interface PutOutcome {
  rows: number;
  version: number;
  partitions: string[];
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** What one commit changes; null from a builder means nothing changes (a no-op). */
interface Change {
  operation: Manifest['operation'];
  added?: FileEntry[];
  removed?: ReadonlySet<string>;
  fields?: FieldSpec[];
  addedColumns?: string[];
}

export class DatasetStore {
  private readonly current = new Map<string, Manifest>();
  private readonly locks = new KeyedMutex();
  private readonly cache: IpcCache;
  private readonly parquet = new ParquetReader();
  private readonly tier = new IpcTierRangeReader();
  private readonly windows = new HeldWindows();
  private readonly encoder: ParquetEncoderPool;

  private constructor(
    readonly options: StoreOptions,
    private readonly log: Logger,
  ) {
    this.cache = new IpcCache(options.cacheBytes);
    this.encoder = new ParquetEncoderPool(options.encoderThreads);
  }

  /** Opens a data directory, discarding whatever a crash interrupted. */
  static async open(options: StoreOptions, log: Logger): Promise<DatasetStore> {
    const store = new DatasetStore(options, log);
    await mkdir(options.dataDir, { recursive: true });
    for (const entry of await readdir(options.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name.startsWith('.trash-')) {
        await rm(join(options.dataDir, entry.name), { recursive: true, force: true });
        continue;
      }
      if (!DATASET_NAME.test(entry.name)) continue;
      await store.recoverDataset(entry.name);
    }
    return store;
  }

  datasetDir(name: string): string {
    return join(this.options.dataDir, name);
  }

  private async recoverDataset(name: string): Promise<void> {
    const dir = this.datasetDir(name);
    await removeCatalogLeftovers(dir);
    const versions = await listVersions(dir);
    if (versions.length === 0) {
      // A create that never committed version 0.
      await rm(dir, { recursive: true, force: true });
      this.log.warn({ dataset: name }, 'removed a dataset directory with no committed version');
      return;
    }
    const referenced = new Set<string>();
    let latest: Manifest | undefined;
    for (const v of versions) {
      const m = await readManifest(dir, v);
      for (const f of m.files) for (const p of storedPaths(f)) referenced.add(p);
      latest = m;
    }
    this.current.set(name, latest!);
    const removed = await removeUnreferencedFiles(dir, referenced);
    if (removed.length > 0) this.log.warn({ dataset: name, files: removed.length }, 'removed files no committed version names');
  }

  listDatasets(): Manifest[] {
    return [...this.current.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The current manifest, or NOT_FOUND. */
  manifest(name: string): Manifest {
    checkDatasetName(name);
    const m = this.current.get(name);
    if (!m) throw new StorageError('NOT_FOUND', `dataset "${name}" does not exist`);
    return m;
  }

  /** The manifest of a committed version (the current one when `version` is null). */
  async manifestAt(name: string, version: number | null): Promise<Manifest> {
    const m = this.manifest(name);
    if (version === null || version === m.version) return m;
    if (version > m.version) throw new StorageError('NOT_FOUND', `version ${version} of dataset "${name}" does not exist (current is ${m.version})`);
    return readManifest(this.datasetDir(name), version);
  }

  async createDataset(spec: DatasetSpec): Promise<DatasetDescription> {
    checkDatasetSpec(spec);
    return this.locks.run(spec.name, async () => {
      if (this.current.has(spec.name)) throw new StorageError('ALREADY_EXISTS', `dataset "${spec.name}" already exists`);
      const dir = this.datasetDir(spec.name);
      await mkdir(join(dir, CATALOG_DIR), { recursive: true });
      const manifest: Manifest = {
        format: 1,
        name: spec.name,
        version: 0,
        committedAt: new Date().toISOString(),
        operation: 'create',
        timeColumn: spec.timeColumn,
        keyColumns: spec.keyColumns,
        partition: spec.partition,
        fields: spec.fields ? fieldsFromSchema(schemaFromFields(spec.fields, spec), spec) : null,
        addedColumns: [],
        files: [],
      };
      try {
        await commitManifest(dir, manifest);
      } catch (e) {
        if (e instanceof StorageError && e.code === 'ABORTED') throw new StorageError('ALREADY_EXISTS', `dataset "${spec.name}" already exists`);
        throw e;
      }
      await fsyncPath(this.options.dataDir);
      this.current.set(spec.name, manifest);
      return describeManifest(manifest);
    });
  }

  async describe(name: string, version: number | null = null): Promise<DatasetDescription & { oldest_version: number }> {
    const m = await this.manifestAt(name, version);
    const versions = await listVersions(this.datasetDir(name));
    return { ...describeManifest(m), oldest_version: versions[0] ?? m.version };
  }

  /**
   * Runs `build` under the dataset's commit lock against the current version and commits what
   * it returns as the next version. Files it wrote are removed if anything fails before the
   * commit; a null change commits nothing and returns the current version.
   */
  private commit(name: string, build: (base: Manifest, files: DataFileWriter) => Promise<Change | null>, signal?: AbortSignal): Promise<Manifest> {
    return this.locks.run(name, async () => {
      const base = this.manifest(name);
      const files = new DataFileWriter(this.datasetDir(name), this.options.rowGroupRows, this.options.ipcTier ? this.options.outputBatchRows : 0, this.encoder);
      try {
        const change = await build(base, files);
        if (!change) return base;
        await files.sync();
        const removed = change.removed ?? new Set<string>();
        const next: Manifest = {
          ...base,
          version: base.version + 1,
          committedAt: new Date().toISOString(),
          operation: change.operation,
          fields: change.fields ?? base.fields,
          addedColumns: change.addedColumns ?? base.addedColumns,
          files: [...base.files.filter((f) => !removed.has(f.path)), ...(change.added ?? [])].sort(compareFiles),
        };
        if (signal?.aborted) throw new StorageError('ABORTED', 'the stream was cancelled before its commit; nothing was committed');
        await commitManifest(this.datasetDir(name), next);
        this.current.set(name, next);
        if (removed.size > 0) this.cache.retire(this.datasetDir(name), [...removed]);
        return next;
      } catch (e) {
        await files.discard();
        throw e;
      }
    });
  }

  /**
   * Commits a DoPut stream as one new version, or nothing. The schema is the stream's; it must
   * match the dataset's (or fixes it when the dataset has none yet).
   */
  async put(name: string, schema: Schema, batches: AsyncIterable<RecordBatch>, signal?: AbortSignal): Promise<PutOutcome> {
    const before = this.manifest(name);
    const target = this.targetSchema(before, schema);
    const buffer = new IngestBuffer(target, before, { maxStreamBytes: this.options.maxPutBytes });
    for await (const batch of batches) buffer.add(batch);

    const next = await this.commit(
      name,
      async (base, files) => {
        // Another stream may have fixed the schema while this one was arriving.
        const schemaNow = before.fields === null && base.fields !== null ? this.targetSchema(base, schema) : target;
        if (buffer.rows === 0 && base.fields !== null) return null;
        const removed = new Set<string>();
        const writes: Promise<FileEntry>[] = [];
        for (const [key, part] of [...buffer.partitions].sort(([a], [b]) => a.localeCompare(b))) {
          const incoming = sortUnique(concatBatches(schemaNow, part.batches.map((b) => conformBatch(b, schemaNow))), base);
          const overlapping = overlappingFiles(base, key, incoming);
          let merged = incoming;
          if (overlapping.length > 0) {
            // Stored rows first, new rows last: the stable sort then keeps the new row of each key.
            const stored = await this.readFiles(base, overlapping, schemaNow);
            merged = sortUnique(concatBatches(schemaNow, [...stored, incoming]), base);
            overlapping.forEach((f) => removed.add(f.path));
          }
          // Encoding runs in worker threads: the next partition is merged meanwhile.
          writes.push(files.write(base, key, merged));
        }
        const added = await DataFileWriter.all(writes);
        return { operation: 'put', added, removed, fields: base.fields ?? fieldsFromSchema(schemaNow, base) };
      },
      signal,
    );
    return { rows: buffer.rows, version: next.version, partitions: [...buffer.partitions.keys()].sort() };
  }

  private targetSchema(m: Manifest, incoming: Schema): Schema {
    if (m.fields === null) {
      checkSchemaRoles(incoming, m.timeColumn, m.keyColumns, `DoPut schema for dataset "${m.name}"`);
      return schemaFromFields(fieldsFromSchema(incoming, m), m);
    }
    const expected = manifestSchemaOf(m);
    const mismatch = describeSchemaMismatch(expected, incoming, { optionalTrailing: new Set(m.addedColumns) });
    if (mismatch) throw new StorageError('INVALID_ARGUMENT', `DoPut schema does not match dataset "${m.name}": ${mismatch}`);
    return expected;
  }

  private async readFiles(m: Manifest, files: FileEntry[], schema: Schema): Promise<RecordBatch[]> {
    const out: RecordBatch[] = [];
    for (const f of files) {
      const ipc = await this.parquet.readIpc(join(this.datasetDir(m.name), f.path));
      for (const b of tableFromIPC(ipc).batches) out.push(conformBatch(b, schema));
    }
    return out;
  }

  /** Deletes the rows whose first key is in `symbols` (all when null) and time in [start, end). */
  async deleteRange(name: string, symbols: string[] | null, startNs: bigint | null, endNs: bigint | null): Promise<{ rows_deleted: number; version: number }> {
    let deleted = 0;
    const next = await this.commit(name, async (base, files) => {
      deleted = 0;
      if (symbols && base.keyColumns.length === 0) {
        throw new StorageError('INVALID_ARGUMENT', `field "symbols": dataset "${name}" has no key column to filter on`);
      }
      if (startNs !== null && endNs !== null && endNs < startNs) throw new StorageError('INVALID_ARGUMENT', 'field "end" is before field "start"');
      const schema = manifestSchemaOf(base);
      const removed = new Set<string>();
      const added: FileEntry[] = [];
      for (const f of base.files) {
        if (startNs !== null && BigInt(f.maxTimeNs) < startNs) continue;
        if (endNs !== null && BigInt(f.minTimeNs) >= endNs) continue;
        if (symbols && f.minKey !== null && f.maxKey !== null && !symbols.some((s) => s >= f.minKey! && s <= f.maxKey!)) continue;
        const batch = concatBatches(schema, await this.readFiles(base, [f], schema));
        // Only the first key column is filtered, so ranges come from it and time alone.
        const hit = sortedRangeForKeys(batch, base.keyColumns, symbols, base.timeColumn, startNs, endNs);
        const hitRows = hit.reduce((n, [s, e]) => n + e - s, 0);
        if (hitRows === 0) continue;
        deleted += hitRows;
        removed.add(f.path);
        if (hitRows < batch.numRows) added.push(await files.write(base, f.partition, filterBatch(batch, complement(hit, batch.numRows))));
      }
      return deleted === 0 ? null : { operation: 'delete_range', removed, added };
    });
    return { rows_deleted: deleted, version: next.version };
  }

  /** Merges each partition's files (or one partition's) into one sorted file. */
  async compact(name: string, partition: string | null): Promise<{ files_before: number; files_after: number; version: number }> {
    let before = 0;
    let after = 0;
    const next = await this.commit(name, async (base, files) => {
      const scope = base.files.filter((f) => partition === null || f.partition === partition);
      if (partition !== null && scope.length === 0 && !base.files.some((f) => f.partition === partition)) {
        throw new StorageError('NOT_FOUND', `partition "${partition}" of dataset "${name}" holds no files`);
      }
      before = scope.length;
      after = before;
      const schema = manifestSchemaOf(base);
      const byPartition = new Map<string, FileEntry[]>();
      for (const f of scope) byPartition.set(f.partition, [...(byPartition.get(f.partition) ?? []), f]);
      const removed = new Set<string>();
      const writes: Promise<FileEntry>[] = [];
      for (const [key, group] of byPartition) {
        if (group.length < 2) continue;
        const merged = sortUnique(concatBatches(schema, await this.readFiles(base, group, schema)), base);
        writes.push(files.write(base, key, merged));
        group.forEach((f) => removed.add(f.path));
        after -= group.length - 1;
      }
      const added = await DataFileWriter.all(writes);
      return removed.size === 0 ? null : { operation: 'compact', removed, added };
    });
    return { files_before: before, files_after: after, version: next.version };
  }

  /** Adds nullable columns; files written before read them as null. */
  async evolveSchema(name: string, add: FieldSpec[]): Promise<DatasetDescription> {
    const next = await this.commit(name, async (base) => {
      if (base.fields === null) {
        throw new StorageError('FAILED_PRECONDITION', `dataset "${name}" has no schema yet; its first DoPut or create_dataset fields fix it`);
      }
      const fresh = add.filter((f) => !base.fields!.some((g) => g.name === f.name));
      for (const f of add) {
        const existing = base.fields.find((g) => g.name === f.name);
        if (existing && existing.type !== typeToString(typeFromString(f.type))) {
          throw new StorageError('INVALID_ARGUMENT', `column "${f.name}" already exists as ${existing.type}, not ${f.type}`);
        }
        if (!f.nullable) throw new StorageError('INVALID_ARGUMENT', `column "${f.name}": added columns must be nullable`);
      }
      if (new Set(add.map((f) => f.name)).size !== add.length) throw new StorageError('INVALID_ARGUMENT', 'field "add" names a column twice');
      if (fresh.length === 0) return null;
      const fields = [...base.fields, ...fresh.map((f) => ({ name: f.name, type: typeToString(typeFromString(f.type)), nullable: true }))];
      return { operation: 'evolve_schema', fields, addedColumns: [...base.addedColumns, ...fresh.map((f) => f.name)] };
    });
    return describeManifest(next);
  }

  /**
   * Keeps the newest `retain` versions: older manifests go first, then every data file that no
   * retained version names. A crash in between leaves files that start-up removes.
   */
  async vacuum(name: string, retain: number): Promise<{ files_removed: number; bytes_freed: number; oldest_version: number }> {
    if (!Number.isInteger(retain) || retain < 1) throw new StorageError('INVALID_ARGUMENT', 'field "retain_versions" must be an integer >= 1');
    return this.locks.run(name, async () => {
      const m = this.manifest(name);
      const dir = this.datasetDir(name);
      const versions = await listVersions(dir);
      const kept = versions.slice(-retain);
      const keptManifests = await Promise.all(kept.map((v) => readManifest(dir, v)));
      const dropped = versions.slice(0, versions.length - kept.length);
      const droppedFiles = new Map<string, number>();
      for (const v of dropped) {
        for (const f of (await readManifest(dir, v)).files) {
          droppedFiles.set(f.path, f.bytes);
          if (f.ipc) droppedFiles.set(f.ipc.path, f.ipc.bytes);
        }
      }
      for (const v of dropped) await unlink(join(dir, CATALOG_DIR, versionFileName(v)));
      if (dropped.length > 0) await fsyncPath(join(dir, CATALOG_DIR));
      const live = new Set(keptManifests.flatMap((k) => k.files.flatMap(storedPaths)));
      const removedPaths = await removeUnreferencedFiles(dir, live);
      const bytes = removedPaths.reduce((n, p) => n + (droppedFiles.get(p) ?? 0), 0);
      if (removedPaths.length > 0) this.cache.retire(dir, removedPaths);
      for (const p of removedPaths) {
        this.parquet.forget(join(dir, p));
        this.tier.forget(join(dir, p));
      }
      return { files_removed: removedPaths.length, bytes_freed: bytes, oldest_version: kept[0] ?? m.version };
    });
  }

  /** Removes a dataset: renamed aside at once (atomic), then deleted. */
  async drop(name: string): Promise<{ dropped: true }> {
    return this.locks.run(name, async () => {
      this.manifest(name);
      const dir = this.datasetDir(name);
      const trash = join(this.options.dataDir, `.trash-${name}-${randomUUID()}`);
      await rename(dir, trash);
      await fsyncPath(this.options.dataDir);
      this.current.delete(name);
      this.cache.retire(dir, ['*']);
      this.parquet.forgetUnder(dir);
      this.tier.forgetUnder(dir);
      await rm(trash, { recursive: true, force: true });
      return { dropped: true as const };
    });
  }

  /** Plans a query into endpoints over one committed version. */
  async plan(query: ReadQuery): Promise<ReadPlan> {
    return planRead(await this.manifestAt(query.dataset, query.asOf), query, this.options);
  }

  /** Reads one endpoint's rows: a slice pinned to a version. */
  async read(slice: ReadSlice): Promise<SliceData> {
    const m = await this.manifestAt(slice.query.dataset, slice.query.asOf);
    return readSlice({ datasetDir: this.datasetDir(m.name), cache: this.cache, parquet: this.parquet, tier: this.tier, windows: this.windows }, m, slice, this.options);
  }

  /** Decoded bytes the reads in progress hold in their files' windows (every DoGet stream's share). */
  readWindowStats(): ReadWindowStats {
    return this.windows.stats();
  }

  cacheStats(): CacheStats {
    return this.cache.stats();
  }

  /** Files opened and bytes read, by Parquet reads and by ranged reads of the IPC tier. */
  ioStats(): ParquetIoStats {
    const parquet = this.parquet.ioStats();
    const tier = this.tier.ioStats();
    return { filesOpened: parquet.filesOpened + tier.filesOpened, bytesRead: parquet.bytesRead + tier.bytesRead };
  }

  /** Stops the encoder threads (the store stays readable). */
  async close(): Promise<void> {
    await this.encoder.close();
  }
}

function sortUnique(batch: RecordBatch, m: Manifest): RecordBatch {
  const perm = lastWinsUnique(batch, sortPermutation(batch, m.keyColumns, m.timeColumn), m.keyColumns, m.timeColumn);
  if (perm.length === batch.numRows && perm.every((v, i) => v === i)) return batch;
  return takeRows(batch, perm);
}

/** Stored files of a partition whose time and first-key ranges overlap a sorted batch's. */
function overlappingFiles(m: Manifest, partition: string, batch: RecordBatch): FileEntry[] {
  const [g] = rowGroupStats(batch, { rowGroupRows: Math.max(1, batch.numRows), timeColumn: m.timeColumn, keyColumn: m.keyColumns[0] ?? null });
  const minT = BigInt(g!.minTimeNs);
  const maxT = BigInt(g!.maxTimeNs);
  return m.files.filter(
    (f) =>
      f.partition === partition &&
      BigInt(f.minTimeNs) <= maxT &&
      BigInt(f.maxTimeNs) >= minT &&
      (f.minKey === null || g!.minKey === null || (f.minKey <= g!.maxKey! && f.maxKey! >= g!.minKey)),
  );
}

/** The row ranges of [0, n) not covered by sorted, disjoint `ranges`. */
function complement(ranges: readonly RowRange[], n: number): RowRange[] {
  const out: RowRange[] = [];
  let at = 0;
  for (const [s, e] of ranges) {
    if (s > at) out.push([at, s]);
    at = e;
  }
  if (at < n) out.push([at, n]);
  return out;
}

/** Every file a manifest entry names: the Parquet file and its IPC tier copy. */
function storedPaths(f: FileEntry): string[] {
  return f.ipc ? [f.path, f.ipc.path] : [f.path];
}

function compareFiles(a: FileEntry, b: FileEntry): number {
  return a.partition === b.partition ? a.minTimeNs.localeCompare(b.minTimeNs) : a.partition.localeCompare(b.partition);
}

/** Deletes every data file below a dataset directory that `referenced` does not name. */
async function removeUnreferencedFiles(datasetDir: string, referenced: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? join(datasetDir, rel) : datasetDir;
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      if (entry.name === CATALOG_DIR && !rel) continue;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(childRel);
        if ((await readdir(join(datasetDir, childRel))).length === 0) await rm(join(datasetDir, childRel), { recursive: true, force: true });
      } else if (!referenced.has(childRel)) {
        await unlink(join(datasetDir, childRel));
        removed.push(childRel);
      }
    }
  };
  await walk('');
  return removed;
}

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
  };
}
