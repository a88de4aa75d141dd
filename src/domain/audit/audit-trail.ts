/**
 * The audit sink every part of the server calls: `audit.record({ type, ... })`. The event goes to
 * the log at once and to the audit_events table in batches, off the request's path: a bounded
 * buffer, written at least every flush interval, when a batch is full, and on close (SIGTERM drains
 * through close()). When the buffer is full (the store is down for long), new events are dropped
 * and counted, never queued without bound. `write()` is the synchronous form
 * (D1AUTHZ_AUDIT_SYNC=true): the row is committed before the caller goes on.
 *
 * Admin changes do not come here: they are written in the transaction of the change (the
 * repositories insert toAuditRow(...)) and only logged through `logged()` once committed.
 */
import { toAuditRow, type AuditEvent } from './audit-event.js';
import { PackedAuditRows } from '../../store/packed-audit-rows.js';

export interface AuditSink {
  /** Logged now (unless `log` is false: the caller's own line carries it), stored with the next batch. Never throws, never waits. */
  record(event: AuditEvent, log?: boolean): void;
}

export interface AuditStore {
  /** One batch, written whole or not at all. */
  insert(batch: PackedAuditRows): Promise<void>;
  prune(before: number, maxRows: number): Promise<number>;
}

export interface AuditTrailOptions {
  /** Events held at most while waiting for the store; beyond: dropped and counted. */
  readonly bufferSize: number;
  readonly flushIntervalMs: number;
  /** Rows per batch write. */
  readonly batchSize: number;
  /** Rows older than this are pruned (days). */
  readonly retentionDays: number;
  readonly pruneIntervalMs: number;
  /** Rows deleted per prune statement: small, so a prune never holds the table long. */
  readonly pruneBatch: number;
  /** The log line of an event (the same event, the same fields). */
  readonly log: (event: AuditEvent, at: number) => void;
  readonly onError: (err: Error, what: string) => void;
  readonly now?: () => number;
}

export class AuditTrail implements AuditSink {
  /** Oldest first; each holds at most batchSize rows, as bytes (see PackedAuditRows for why). */
  private batches: PackedAuditRows[] = [];
  private buffered = 0;
  private flushing: Promise<void> | undefined;
  private droppedCount = 0;
  private timers: NodeJS.Timeout[] = [];
  private pruning = false;
  private readonly now: () => number;

  constructor(
    private readonly store: AuditStore,
    private readonly options: AuditTrailOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Events dropped since start because the buffer was full (a counter metric). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Events waiting for the next batch (a gauge). */
  get pending(): number {
    return this.buffered;
  }

  start(): void {
    const flush = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    const prune = setInterval(() => void this.prune(), this.options.pruneIntervalMs);
    // The first prune soon after start, not an interval later: a node that restarts often still prunes.
    const first = setTimeout(() => void this.prune(), Math.min(2_000, this.options.pruneIntervalMs));
    for (const t of [flush, prune, first]) t.unref();
    this.timers = [flush, prune, first];
  }

  record(event: AuditEvent, log = true): void {
    const at = this.now();
    if (log) this.options.log(event, at);
    if (this.buffered >= this.options.bufferSize) {
      this.droppedCount++;
      return;
    }
    let last = this.batches.at(-1);
    if (!last || last.count >= this.options.batchSize) {
      last = new PackedAuditRows(this.options.batchSize);
      this.batches.push(last);
    }
    last.push(toAuditRow(event, at));
    this.buffered++;
    if (last.count >= this.options.batchSize && !this.flushing) void this.flush();
  }

  /** Committed before it resolves; rejects when the store cannot take it (the caller fails closed). */
  async write(event: AuditEvent, log = true): Promise<void> {
    const at = this.now();
    await this.store.insert(PackedAuditRows.of([toAuditRow(event, at)]));
    if (log) this.options.log(event, at);
  }

  /** The log line of an event already committed with an admin change. */
  logged(event: AuditEvent, at: number = this.now()): void {
    this.options.log(event, at);
  }

  /** Writes what is buffered; a failed batch goes back to the front of the buffer for the next try. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.buffered ? this.flush() : undefined));
    if (this.buffered === 0) return Promise.resolve();
    this.flushing = this.writeBuffered().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeBuffered(): Promise<void> {
    while (this.batches.length) {
      // Taken out of the buffer: new events go to a new batch while this one is written.
      const batch = this.batches.shift()!;
      this.buffered -= batch.count;
      try {
        await this.store.insert(batch);
      } catch (err) {
        // Back to the front, in order; what no longer fits is the newest, dropped (and counted) as in record().
        this.batches.unshift(batch);
        this.buffered += batch.count;
        this.dropNewestBeyond(this.options.bufferSize);
        this.options.onError(err as Error, 'audit write');
        return;
      }
    }
  }

  private dropNewestBeyond(limit: number): void {
    let excess = this.buffered - limit;
    while (excess > 0) {
      const last = this.batches.at(-1)!;
      const n = Math.min(excess, last.count);
      if (n === last.count) this.batches.pop();
      else last.truncate(last.count - n);
      this.buffered -= n;
      this.droppedCount += n;
      excess -= n;
    }
  }

  /** Deletes rows past retention, a small batch at a time, yielding between batches. */
  async prune(): Promise<number> {
    if (this.pruning) return 0;
    this.pruning = true;
    let total = 0;
    try {
      const before = this.now() - this.options.retentionDays * 86_400_000;
      for (;;) {
        const n = await this.store.prune(before, this.options.pruneBatch);
        total += n;
        if (n < this.options.pruneBatch) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } catch (err) {
      this.options.onError(err as Error, 'audit retention prune');
    } finally {
      this.pruning = false;
    }
    return total;
  }

  /** Stops the timers and writes what is buffered (SIGTERM, close). */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.flush();
  }
}
