/**
 * Background compaction: a partition that appends split into more files than the bound is merged
 * into few files (compaction-plan.ts) as a new version that changes no row. Planning, reading and
 * encoding run outside the dataset's commit lock, so writers never wait for them; the commit then
 * takes the lock only to check that every input file is still live in the newest version and to
 * link the record. When a writer replaced or deleted an input meanwhile, the merged files are
 * removed and the partition is planned again after the next commit: no acknowledged row is lost.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { concatBatches } from '../kernels/concat.js';
import { manifestSchemaOf } from '../dataset-spec.js';
import type { FileEntry, Manifest } from '../manifest.js';
import type { Change } from '../catalog/version-record.js';
import type { DataFileWriter } from '../write/data-file-writer.js';
import { sortUnique } from '../write/sort-unique.js';
import { planCompaction, type CompactionLimits } from './compaction-plan.js';

/** What background compaction needs of the store. */
export interface CompactionTarget {
  manifest(name: string): Manifest;
  readFiles(m: Manifest, files: FileEntry[], schema: Schema): Promise<RecordBatch[]>;
  newFileWriter(name: string): DataFileWriter;
  /** Commits `files` when `change` accepts the version current at commit time; else removes them and answers null. */
  commitPrepared(name: string, files: DataFileWriter, change: (current: Manifest) => Change | null): Promise<Manifest | null>;
}

export interface CompactionLog {
  info(obj: object, msg?: string): void;
}

/**
 * Compacts the first partition of `name` over the bound. True when it committed a version (the
 * caller runs it again for the next partition); false when no partition is over the bound or the
 * inputs changed before the commit.
 */
export async function compactOverfullPartition(target: CompactionTarget, name: string, limits: CompactionLimits, log: CompactionLog): Promise<boolean> {
  const base = target.manifest(name);
  const byPartition = new Map<string, FileEntry[]>();
  for (const f of base.files) byPartition.set(f.partition, [...(byPartition.get(f.partition) ?? []), f]);
  for (const [partition, files] of byPartition) {
    const groups = planCompaction(files, limits);
    if (groups.length === 0) continue;
    const schema = manifestSchemaOf(base);
    const writer = target.newFileWriter(name);
    const added: FileEntry[] = [];
    try {
      for (const group of groups) {
        const merged = sortUnique(concatBatches(schema, await target.readFiles(base, group, schema)), base);
        added.push(await writer.write(base, partition, merged));
      }
    } catch (e) {
      await writer.discard();
      throw e;
    }
    const inputs = new Set(groups.flat().map((f) => f.path));
    const next = await target.commitPrepared(name, writer, (current) => {
      const live = current.files.reduce((n, f) => n + (inputs.has(f.path) ? 1 : 0), 0);
      return live === inputs.size ? { operation: 'compact', removed: inputs, added } : null;
    });
    if (next === null) {
      log.info({ dataset: name, partition }, 'background compaction dropped: a writer changed its files meanwhile; planned again after the next commit');
      return false;
    }
    log.info({ dataset: name, partition, filesBefore: files.length, filesAfter: files.length - inputs.size + added.length, version: next.version }, 'background compaction committed');
    return true;
  }
  return false;
}
