/**
 * One dataset's catalog as a version log: each commit links one small record (what it changed)
 * to its version's name, a checkpoint (the whole manifest) follows every `checkpointEvery`
 * versions, and opening reads the newest checkpoint that parses plus the records after it. The
 * catalog so grows with the changes, not with versions × files. Time travel rebuilds a version
 * from the checkpoint at or before it; recent versions stay in memory.
 *
 * Directories written before the version log (one whole manifest per version) are migrated when
 * opened: their manifests are replayed once and a checkpoint is written at the current version;
 * the old manifests stay, readable by `as_of`, until vacuum removes their versions.
 */
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { catalogNames, CATALOG_DIR, commitVersionFile, fsyncPath, readVersionFile, removeCatalogLeftovers, versionFileName, versionsIn } from '../catalog.js';
import { StorageError } from '../errors.js';
import { PromiseLru } from '../io/promise-lru.js';
import type { Manifest } from '../manifest.js';
import { checkpointsToDrop, checkpointVersions, readCheckpoint, removeCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { applyVersionFile, pruneRetired, readRemovals, storedPaths, type CatalogState } from './replay.js';
import { readHorizon, writeHorizon } from './vacuum-horizon.js';
import { nextManifest, recordOf, type Change, type VersionFile } from './version-record.js';
import { CommitConflict, type CatalogAdvance, type DatasetCatalogHandle } from './catalog-backend.js';

export interface CatalogOptions {
  /** A checkpoint follows every version that is a multiple of this. */
  checkpointEvery: number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** Past versions kept in memory for time travel and for tickets pinned to a version just replaced. */
const PAST_VERSIONS_KEPT = 16;

export class DatasetCatalog implements DatasetCatalogHandle {
  private readonly past = new PromiseLru<Manifest>(PAST_VERSIONS_KEPT);
  /** Checkpoint writes, one after another; never rejects. */
  private pending: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    private state: CatalogState,
    private oldest: number,
    /** Checkpoints on disk, ascending. */
    private checkpoints: number[],
    /**
     * The version the in-memory state was replayed from: `state.retired` holds the removals of the
     * versions after it; those of the versions from `oldest` up to it are read from their records
     * when needed (checkpoints hold live files only).
     */
    private replayedFrom: number,
    private readonly opts: CatalogOptions,
  ) {}

  get current(): Manifest {
    return this.state.manifest;
  }

  /** The oldest version `as_of` can read (older ones were vacuumed). */
  get oldestVersion(): number {
    return this.oldest;
  }

  /** Commits version 0 of a new dataset; ABORTED when it exists. */
  static async create(dir: string, first: Manifest, opts: CatalogOptions): Promise<DatasetCatalog> {
    await commitVersionFile(dir, first.version, JSON.stringify(recordOf(null, first, new Set())));
    return new DatasetCatalog(dir, { manifest: first, retired: new Map() }, first.version, [], first.version, opts);
  }

  /**
   * Opens a dataset's catalog: temporary files of interrupted commits are removed, an interrupted
   * vacuum is finished, and the current version is rebuilt. Null when no version was committed.
   */
  static async open(dir: string, opts: CatalogOptions): Promise<DatasetCatalog | null> {
    await removeCatalogLeftovers(dir);
    const names = await catalogNames(dir);
    let versions = versionsIn(names);
    let checkpoints = checkpointVersions(names);
    if (versions.length === 0) return null;
    const horizon = await readHorizon(dir);
    if (horizon > versions[0]! && horizon <= versions.at(-1)!) {
      await removeBelow(dir, horizon, versions, checkpoints);
      versions = versions.filter((v) => v >= horizon);
      checkpoints = checkpoints.filter((c) => c >= horizon);
    }
    const oldest = versions[0]!;
    const newest = versions.at(-1)!;
    let state: CatalogState | null = null;
    let from = oldest;
    for (const c of [...checkpoints].reverse()) {
      if (c > newest || c < oldest) continue;
      const cp = await readCheckpoint(dir, c);
      if (cp) {
        state = { manifest: cp.manifest, retired: new Map() };
        from = c + 1;
        break;
      }
      opts.log.warn({ dir, checkpoint: c }, 'catalog checkpoint unreadable; opening from an older one and the log');
    }
    let legacy = false;
    for (let v = from; v <= newest; v++) {
      const file = await readVersionFile(dir, v);
      legacy ||= file.format === 1;
      state = advance(state, file, dir);
    }
    pruneRetired(state!.retired, oldest);
    const catalog = new DatasetCatalog(dir, state!, oldest, checkpoints, Math.max(oldest, from - 1), opts);
    if (legacy || newest - (from - 1) > opts.checkpointEvery) {
      await catalog.scheduleCheckpoint();
      if (legacy) opts.log.info({ dir, version: newest }, 'catalog migrated to the version log: checkpoint written at the current version');
    }
    return catalog;
  }

  /**
   * Commits `change` as the next version: one record linked to the version's name. ABORTED when
   * another process took that version.
   */
  async commit(change: Change, baseVersion: number = this.state.manifest.version): Promise<Manifest> {
    const base = this.state.manifest;
    if (base.version !== baseVersion) throw new CommitConflict(`version ${baseVersion + 1} of "${base.name}" was committed concurrently`);
    const next = nextManifest(base, change, new Date().toISOString());
    const removed = change.removed ?? new Set<string>();
    await commitVersionFile(this.dir, next.version, JSON.stringify(recordOf(base, next, removed)));
    const retired = this.state.retired;
    for (const f of base.files) if (removed.has(f.path)) retired.set(f.path, { removedIn: next.version, paths: storedPaths(f) });
    this.state = { manifest: next, retired };
    void this.past.get(String(base.version), () => Promise.resolve(base));
    if (next.version % this.opts.checkpointEvery === 0) void this.scheduleCheckpoint();
    return next;
  }

  /** A committed version's manifest; NOT_FOUND when it is newer than the current or was vacuumed. */
  async manifestAt(version: number): Promise<Manifest> {
    const current = this.state.manifest;
    if (version === current.version) return current;
    if (version > current.version) {
      throw new StorageError('NOT_FOUND', `version ${version} of dataset "${current.name}" does not exist (current is ${current.version})`);
    }
    if (version < this.oldest) {
      throw new StorageError('NOT_FOUND', `version ${version} of dataset "${current.name}" does not exist (vacuumed; the oldest kept is ${this.oldest})`);
    }
    return this.past.get(String(version), () => this.rebuild(version));
  }

  /** One process per data directory: no other commits to catch up with. */
  refresh(): Promise<CatalogAdvance | null> {
    return Promise.resolve(null);
  }

  /**
   * Every file a retained version names (Parquet files and their IPC tier copies), relative to the
   * dataset directory. Reads the records of the versions before the state's replay base; fails
   * (and so deletes nothing) when one of them cannot be read.
   */
  async referencedPaths(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const f of this.state.manifest.files) for (const p of storedPaths(f)) out.add(p);
    const older = this.replayedFrom > this.oldest ? await readRemovals(this.dir, this.oldest, this.replayedFrom) : new Map();
    for (const retired of [older, this.state.retired]) {
      for (const r of retired.values()) if (r.removedIn > this.oldest) for (const p of r.paths) out.add(p);
    }
    return out;
  }

  /**
   * Keeps the newest `retain` versions: a checkpoint of the oldest kept one is written, then the
   * horizon, then older records and checkpoints go. Returns the oldest version kept; the caller
   * removes the data files {@link referencedPaths} no longer names (`released` is empty: the
   * caller's sweep of the directory finds them).
   */
  async vacuum(retain: number): Promise<{ oldest: number; released: string[] }> {
    return { oldest: await this.vacuumVersions(retain), released: [] };
  }

  private async vacuumVersions(retain: number): Promise<number> {
    await this.pending;
    const versions = versionsIn(await catalogNames(this.dir));
    const keep = versions.filter((v) => v >= this.oldest).slice(-retain)[0] ?? this.state.manifest.version;
    if (keep <= this.oldest) return this.oldest;
    const base = await this.manifestAt(keep);
    await writeCheckpoint(this.dir, { manifest: base });
    if (!this.checkpoints.includes(keep)) this.checkpoints = [...this.checkpoints, keep].sort((a, b) => a - b);
    await writeHorizon(this.dir, keep);
    this.oldest = keep;
    pruneRetired(this.state.retired, keep);
    await removeBelow(this.dir, keep, versions, this.checkpoints);
    this.checkpoints = this.checkpoints.filter((c) => c >= keep);
    return keep;
  }

  /** Waits for checkpoint writes in progress; later ones are skipped (the dataset is being dropped or the server stops). */
  async close(): Promise<void> {
    this.closed = true;
    await this.pending;
  }

  /** Writes a checkpoint of the current version after those already queued. */
  private scheduleCheckpoint(): Promise<void> {
    const cp: Checkpoint = { manifest: this.state.manifest };
    this.pending = this.pending
      .then(() => this.writeCheckpointNow(cp))
      .catch((err: unknown) => this.opts.log.warn({ err, dir: this.dir, version: cp.manifest.version }, 'catalog checkpoint not written; opening falls back to an older one and the log'));
    return this.pending;
  }

  private async writeCheckpointNow(cp: Checkpoint): Promise<void> {
    if (this.closed) return;
    const version = cp.manifest.version;
    await writeCheckpoint(this.dir, cp);
    if (!this.checkpoints.includes(version)) this.checkpoints = [...this.checkpoints, version].sort((a, b) => a - b);
    const drop = checkpointsToDrop(this.checkpoints, version, this.opts.checkpointEvery);
    for (const c of drop) await removeCheckpoint(this.dir, c);
    this.checkpoints = this.checkpoints.filter((c) => !drop.includes(c));
  }

  /** Rebuilds a past version: its own file when it is a whole manifest, else a checkpoint at or before it plus the records up to it. */
  private async rebuild(version: number): Promise<Manifest> {
    const own = await readVersionFile(this.dir, version);
    if (own.format === 1) return own.manifest;
    let state: CatalogState | null = null;
    let from = this.oldest;
    for (const c of [...this.checkpoints].reverse()) {
      if (c > version) continue;
      if (c < this.oldest) break;
      const cp = await readCheckpoint(this.dir, c);
      if (cp) {
        state = { manifest: cp.manifest, retired: new Map() };
        from = c + 1;
        break;
      }
    }
    for (let v = from; v <= version; v++) state = advance(state, v === version ? own : await readVersionFile(this.dir, v), this.dir);
    return state!.manifest;
  }
}

/** One step of a replay; a replay with no checkpoint must start at version 0 or at a whole manifest. */
function advance(state: CatalogState | null, file: VersionFile, dir: string): CatalogState {
  if (state === null && file.format === 2 && file.record.version !== 0) {
    throw new StorageError('INTERNAL', `catalog ${join(dir, CATALOG_DIR)} cannot be rebuilt: no readable checkpoint at or before version ${file.record.version}`);
  }
  return applyVersionFile(state, file);
}

/** Deletes the version files and checkpoints below `oldest`, a few at a time. */
async function removeBelow(dir: string, oldest: number, versions: readonly number[], checkpoints: readonly number[]): Promise<void> {
  const paths = [
    ...versions.filter((v) => v < oldest).map((v) => join(dir, CATALOG_DIR, versionFileName(v))),
    ...checkpoints.filter((c) => c < oldest).map((c) => ({ checkpoint: c })),
  ];
  for (let i = 0; i < paths.length; i += 64) {
    await Promise.all(
      paths.slice(i, i + 64).map((p) => (typeof p === 'string' ? unlink(p).catch(() => undefined) : removeCheckpoint(dir, p.checkpoint))),
    );
  }
  await fsyncPath(join(dir, CATALOG_DIR));
}
