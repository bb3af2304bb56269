/**
 * Commit notifications: the store announces each version once it is durable, per dataset, to
 * whoever listens (DoGet `follow` streams): its own commits as they return, and, with a shared
 * catalog, other processes' commits when it catches up with them. A listener runs synchronously in the committing call,
 * so it must only note the event (a follower queues it and reads the rows later, at its own pace).
 */
import type { RowRange } from './kernels/search.js';
import type { FileEntry, Manifest } from './manifest.js';

/** One committed version of a dataset. */
export interface CommitEvent {
  kind: 'commit';
  dataset: string;
  version: number;
  /** The committed version's manifest without its file list (schema, settings, operation): see `added`. */
  manifest: Manifest;
  /** Files this version added. */
  added: readonly FileEntry[];
  /**
   * Rows (by file row number) this version wrote in added files that also carry rows of earlier
   * versions (an upsert merged into a stored file). Added files not named here hold only rows
   * this version wrote. Empty for versions that write no rows (compact, delete_range, retention).
   */
  written: ReadonlyMap<string, readonly RowRange[]>;
  /** Whether the version wrote rows at all (a DoPut); compaction, deletes and retention do not. */
  writesRows: boolean;
}

/** The dataset is gone: followers end. */
export interface DropEvent {
  kind: 'drop';
  dataset: string;
}

export type FeedEvent = CommitEvent | DropEvent;
export type FeedListener = (event: FeedEvent) => void;

export interface FeedLogger {
  warn(obj: object, msg?: string): void;
}

export class CommitFeed {
  private readonly listeners = new Map<string, Set<FeedListener>>();
  private count = 0;

  constructor(private readonly log: FeedLogger) {}

  /** Listens to one dataset's commits; returns the function that stops listening (idempotent). */
  subscribe(dataset: string, listener: FeedListener): () => void {
    let set = this.listeners.get(dataset);
    if (!set) {
      set = new Set();
      this.listeners.set(dataset, set);
    }
    set.add(listener);
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const s = this.listeners.get(dataset);
      if (!s?.delete(listener)) return;
      this.count--;
      if (s.size === 0) this.listeners.delete(dataset);
    };
  }

  /** Listeners of every dataset (a follower each). */
  listenerCount(): number {
    return this.count;
  }

  emit(event: FeedEvent): void {
    const set = this.listeners.get(event.dataset);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (err) {
        this.log.warn({ err, dataset: event.dataset }, 'a commit listener failed');
      }
    }
  }
}
