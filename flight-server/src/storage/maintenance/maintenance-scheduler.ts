/**
 * Runs the store's background work one job at a time (the machine's cores belong to the calls):
 * after every commit the dataset is queued for a retention check and, when compaction is on, for
 * compaction of partitions over the bound; every dataset is checked at start-up and its retention
 * again every `retentionCheckMs` (an hour). A dataset queued again while its job runs is run again
 * after it. Failures are logged; the next commit or check retries.
 *
 * With a shared catalog only the replica holding the maintenance lease runs jobs (`setActive`):
 * the others queue nothing, and a replica that gains the lease checks every dataset at once.
 */

export interface MaintenanceHost {
  datasetNames(): string[];
  /** Removes partitions past the dataset's retention, if it has one. */
  applyRetention(name: string): Promise<void>;
  /** One compaction of a partition over the bound; true when it committed (another may follow). */
  compactStep(name: string): Promise<boolean>;
}

export interface MaintenanceLog {
  warn(obj: object, msg?: string): void;
}

interface Due {
  retention: boolean;
  compaction: boolean;
}

export class MaintenanceScheduler {
  private readonly due = new Map<string, Due>();
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private active: boolean;

  constructor(
    private readonly host: MaintenanceHost,
    private readonly log: MaintenanceLog,
    private readonly opts: { compaction: boolean; retentionCheckMs: number; active?: boolean },
  ) {
    this.active = opts.active ?? true;
  }

  /** Checks every dataset now, and their retention every `retentionCheckMs`. */
  start(): void {
    this.checkAll();
    this.timer = setInterval(() => {
      for (const name of this.host.datasetNames()) this.queue(name, { retention: true, compaction: false });
    }, this.opts.retentionCheckMs);
    this.timer.unref();
  }

  /**
   * Runs jobs (true) or queues none (false: another replica holds the maintenance lease). Becoming
   * active checks every dataset, as at start; becoming inactive drops what is queued (the job
   * running finishes: its commit is an ordinary versioned one).
   */
  setActive(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    if (active) this.checkAll();
    else this.due.clear();
  }

  afterCommit(name: string): void {
    this.queue(name, { retention: true, compaction: this.opts.compaction });
  }

  /** Resolves once no job is running or queued (for tests and benchmarks). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops the timer and takes no new jobs; waits for the running one. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.due.clear();
    await this.idle();
  }

  private checkAll(): void {
    for (const name of this.host.datasetNames()) this.queue(name, { retention: true, compaction: this.opts.compaction });
  }

  private queue(name: string, what: Due): void {
    if (this.closed || !this.active) return;
    const due = this.due.get(name);
    this.due.set(name, { retention: what.retention || (due?.retention ?? false), compaction: what.compaction || (due?.compaction ?? false) });
    this.kick();
  }

  private kick(): void {
    if (this.running || this.closed) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.due.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Let the commit that queued this answer its caller first.
    await new Promise((resolve) => setImmediate(resolve));
    for (const [name, due] of this.due) {
      if (this.closed || !this.active) return;
      this.due.delete(name);
      try {
        if (due.retention) await this.host.applyRetention(name);
        while (due.compaction && !this.closed && this.active && (await this.host.compactStep(name)));
      } catch (err) {
        if ((err as { code?: unknown }).code === 'NOT_FOUND') continue; // dropped meanwhile
        this.log.warn({ err, dataset: name }, 'background maintenance failed; retried after the next commit');
      }
    }
  }
}
