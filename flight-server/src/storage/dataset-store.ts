/**
 * The storage engine: datasets of time-partitioned Parquet files with a versioned catalog.
 * Writes are merge-on-write: a DoPut's rows replace any stored row with the same primary key by
 * rewriting just the files whose key and time ranges overlap the new rows, so every version's
 * files hold disjoint primary keys and readers never deduplicate.
 */
import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { RecordBatch, Schema } from 'apache-arrow';
import { concatBatches, conformBatch, lastWinsUnique, sortPermutation, takeRows } from './batch-kernels.js';
import { commitManifest, fsyncPath, listVersions, readManifest, removeCatalogLeftovers, CATALOG_DIR } from './catalog.js';
import { checkDatasetName, checkDatasetSpec, checkSchemaRoles, fieldsFromSchema, manifestSchemaOf, schemaFromFields, type DatasetSpec } from './dataset-spec.js';
import { StorageError } from './errors.js';
import { describeSchemaMismatch } from './field-types.js';
import { IngestBuffer } from './ingest.js';
import { manifestBytes, manifestRows, type FileEntry, type Manifest } from './manifest.js';
import { readParquetBatches, rowGroupStats, writeParquetFile } from './parquet-io.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { ReadPlan, ReadSlice } from './read-plan.js';
import type { ReadQuery } from './read-query.js';
import { planRead, readSlice, type ReadOptions } from './reader.js';
import { formatNs } from './time-format.js';

export interface StoreOptions extends ReadOptions {
  dataDir: string;
  rowGroupRows: number;
  maxPutBytes: number;
}

export interface DatasetDescription {
  name: string;
  schema: { name: string; type: string; nullable: boolean }[];
  time_column: string;
  key_columns: string[];
  partition: string;
  version: number;
  rows: number;
  bytes: number;
  partitions: { key: string; files: number; rows: number; bytes: number; min_time: string; max_time: string }[];
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

export class DatasetStore {
  private readonly current = new Map<string, Manifest>();
  private readonly locks = new KeyedMutex();

  private constructor(
    readonly options: StoreOptions,
    private readonly log: Logger,
  ) {}

  /** Opens a data directory, finishing or discarding whatever a crash interrupted. */
  static async open(options: StoreOptions, log: Logger): Promise<DatasetStore> {
    const store = new DatasetStore(options, log);
    await mkdir(options.dataDir, { recursive: true });
    for (const entry of await readdir(options.dataDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (entry.name.startsWith('.trash-')) {
        await rm(join(options.dataDir, entry.name), { recursive: true, force: true });
        continue;
      }
      if (!/^[a-z][a-z0-9_]{0,62}$/.test(entry.name)) continue;
      await store.recoverDataset(entry.name);
    }
    return store;
  }

  private datasetDir(name: string): string {
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
      for (const f of m.files) referenced.add(f.path);
      latest = m;
    }
    this.current.set(name, latest!);
    const removed = await removeUnreferencedFiles(dir, referenced);
    if (removed > 0) this.log.warn({ dataset: name, files: removed }, 'removed files no committed version names');
  }

  listDatasets(): Manifest[] {
    return [...this.current.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The current manifest, or NOT_FOUND. */
  manifest(name: string): Manifest {
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

  async describe(name: string, version: number | null = null): Promise<DatasetDescription> {
    checkDatasetName(name);
    return describeManifest(await this.manifestAt(name, version));
  }

  /**
   * Commits a DoPut stream as one new version, or nothing. The schema is the stream's; it must
   * match the dataset's (or fixes it when the dataset has none yet).
   */
  async put(name: string, schema: Schema, batches: AsyncIterable<RecordBatch>, signal?: AbortSignal): Promise<PutOutcome> {
    checkDatasetName(name);
    const before = this.manifest(name);
    const target = this.targetSchema(before, schema);
    const buffer = new IngestBuffer(target, before, { maxStreamBytes: this.options.maxPutBytes });
    for await (const batch of batches) buffer.add(batch);

    return this.locks.run(name, async () => {
      const base = this.manifest(name);
      // Another stream may have fixed the schema while this one was arriving.
      const schemaNow = before.fields === null && base.fields !== null ? this.targetSchema(base, schema) : target;
      if (buffer.rows === 0 && base.fields !== null) {
        return { rows: 0, version: base.version, partitions: [] };
      }
      const written: string[] = [];
      try {
        const replaced = new Set<string>();
        const added: FileEntry[] = [];
        for (const [key, part] of [...buffer.partitions].sort(([a], [b]) => a.localeCompare(b))) {
          const result = await this.mergePartition(base, schemaNow, key, part.batches, written);
          result.replaced.forEach((p) => replaced.add(p));
          added.push(result.file);
        }
        const next: Manifest = {
          ...base,
          version: base.version + 1,
          committedAt: new Date().toISOString(),
          operation: 'put',
          fields: base.fields ?? fieldsFromSchema(schemaNow, base),
          files: [...base.files.filter((f) => !replaced.has(f.path)), ...added].sort(compareFiles),
        };
        if (signal?.aborted) throw new StorageError('ABORTED', 'the DoPut stream was cancelled before its commit; nothing was committed');
        await commitManifest(this.datasetDir(name), next);
        this.current.set(name, next);
        return { rows: buffer.rows, version: next.version, partitions: [...buffer.partitions.keys()].sort() };
      } catch (e) {
        await Promise.all(written.map((p) => unlink(p).catch(() => undefined)));
        throw e;
      }
    });
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

  /**
   * Sorts and deduplicates a partition's new rows, merges them with the stored files whose key
   * and time ranges overlap them (new rows win), and writes the result as one file.
   */
  private async mergePartition(
    base: Manifest,
    schema: Schema,
    partition: string,
    batches: RecordBatch[],
    written: string[],
  ): Promise<{ file: FileEntry; replaced: string[] }> {
    const incoming = sortUnique(concatBatches(schema, batches.map((b) => conformBatch(b, schema))), base);
    const probe = summarize(incoming, base);
    const overlapping = base.files.filter(
      (f) =>
        f.partition === partition &&
        BigInt(f.minTimeNs) <= probe.maxTimeNs &&
        BigInt(f.maxTimeNs) >= probe.minTimeNs &&
        (f.minKey === null || probe.minKey === null || (f.minKey <= probe.maxKey! && f.maxKey! >= probe.minKey)),
    );
    let merged = incoming;
    if (overlapping.length > 0) {
      const stored: RecordBatch[] = [];
      for (const f of overlapping) {
        const { batches: fileBatches } = await readParquetBatches(join(this.datasetDir(base.name), f.path));
        for (const b of fileBatches) stored.push(conformBatch(b, schema));
      }
      // Stored rows first, new rows last: the stable sort then keeps the new row of each key.
      merged = sortUnique(concatBatches(schema, [...stored, incoming]), base);
    }
    const dir = join(this.datasetDir(base.name), partition);
    await mkdir(dir, { recursive: true });
    const fileName = `part-${Date.now().toString(36)}-${randomUUID()}.parquet`;
    const path = join(dir, fileName);
    written.push(path);
    const out = await writeParquetFile(path, merged, {
      rowGroupRows: this.options.rowGroupRows,
      timeColumn: base.timeColumn,
      keyColumn: base.keyColumns[0] ?? null,
    });
    await fsyncPath(dir);
    return {
      replaced: overlapping.map((f) => f.path),
      file: {
        path: `${partition}/${fileName}`,
        partition,
        rows: merged.numRows,
        bytes: out.bytes,
        minTimeNs: out.minTimeNs.toString(),
        maxTimeNs: out.maxTimeNs.toString(),
        minKey: out.minKey,
        maxKey: out.maxKey,
        columns: schema.fields.map((f) => f.name),
        rowGroups: out.rowGroups,
      },
    };
  }

  /** Plans a query into endpoints over one committed version. */
  async plan(query: ReadQuery): Promise<ReadPlan> {
    checkDatasetName(query.dataset);
    return planRead(await this.manifestAt(query.dataset, query.asOf), query, this.options);
  }

  /** Reads one endpoint's rows: a slice pinned to a version, or a whole query. */
  async read(slice: ReadSlice): Promise<{ schema: Schema; batches: AsyncGenerator<RecordBatch> }> {
    checkDatasetName(slice.query.dataset);
    const m = await this.manifestAt(slice.query.dataset, slice.query.asOf);
    return readSlice(this.datasetDir(m.name), m, slice, this.options);
  }
}

function sortUnique(batch: RecordBatch, m: Manifest): RecordBatch {
  const perm = lastWinsUnique(batch, sortPermutation(batch, m.keyColumns, m.timeColumn), m.keyColumns, m.timeColumn);
  if (perm.length === batch.numRows && perm.every((v, i) => v === i)) return batch;
  return takeRows(batch, perm);
}

/** Time and first-key range of a sorted batch: its statistics as one row group. */
function summarize(batch: RecordBatch, m: Manifest) {
  const [g] = rowGroupStats(batch, { rowGroupRows: Math.max(1, batch.numRows), timeColumn: m.timeColumn, keyColumn: m.keyColumns[0] ?? null });
  return { minTimeNs: BigInt(g!.minTimeNs), maxTimeNs: BigInt(g!.maxTimeNs), minKey: g!.minKey, maxKey: g!.maxKey };
}

function compareFiles(a: FileEntry, b: FileEntry): number {
  return a.partition === b.partition ? a.minTimeNs.localeCompare(b.minTimeNs) : a.partition.localeCompare(b.partition);
}

async function removeUnreferencedFiles(datasetDir: string, referenced: Set<string>): Promise<number> {
  let removed = 0;
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? join(datasetDir, rel) : datasetDir;
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      if (entry.name === CATALOG_DIR && !rel) continue;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(childRel);
      else if (!referenced.has(childRel)) {
        await unlink(join(datasetDir, childRel));
        removed++;
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
      min_time: formatNs(p.min),
      max_time: formatNs(p.max),
    })),
  };
}
