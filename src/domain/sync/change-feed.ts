/**
 * Polls the store's change log so that a change made by the CLI or by another node (a disabled
 * client, a rotated key or secret) reaches this node within one sync interval. Polling a
 * sequence works the same on SQLite and PostgreSQL and survives reconnects without extra state.
 *
 * Reading `seq > last` alone is not enough on PostgreSQL: a sequence value is allocated when the
 * row is inserted, not when its transaction commits, so a writer holding seq 7 can commit after
 * another writer's seq 8 has been read; `seq > 8` would then never return 7. The feed therefore
 * remembers every seq it skipped over (a "gap") and asks for those again on each poll, until the
 * row appears or the gap is older than `gapTimeoutMs` (its transaction rolled back: sequences
 * are not transactional; or the server skipped values after a crash). Writers are short (every
 * statement has a 5 s timeout and a transaction left idle is ended after 10 s: store/database.ts),
 * so a gap that has not filled in after two minutes never will. SQLite has a single writer and
 * allocates seqs in commit order, so gaps there are only rollbacks and simply expire.
 *
 * A client change made by this process was applied here when it committed (the client service tells the
 * directory at once), and anything verified since then is current: reading that change again must not
 * drop it. So the process hands over the seqs it wrote (`appliedHere`), and the feed skips their client
 * handler; every other change, and every change it could not be told of in time, is handled as usual.
 *
 * As a last safety net (e.g. a gap dropped because too many were open), cached clients are
 * re-read after clientCacheTtl anyway, and the key ring is reloaded every `keyRefreshMs`.
 */
import type { Change, ChangeRepository } from '../../store/change-repository.js';

export interface ChangeHandlers {
  client(clientId: string): void;
  /** Reloads the keys; when it fails, it is retried on the next poll. */
  key(): Promise<void> | void;
  /** Reads the new revocations. Awaited before the clients of the same poll are dropped; a failure is reported, the clients are dropped anyway. */
  revocation?(): Promise<void> | void;
  /**
   * Every change committed before `at` has been handed to `client` (a write still in flight then is
   * handed over once it commits: the gaps). Lets the client directory trust its id list to say "unknown".
   */
  synced?(at: number): void;
}

export interface ChangeFeedOptions {
  /** How long a skipped seq is looked for before it is taken for a rolled-back write (ms). */
  readonly gapTimeoutMs?: number;
  /** At most this many skipped seqs are watched; also how far back start-up looks for writes in flight. */
  readonly maxGaps?: number;
  /** The key ring is reloaded at least this often, change or not (ms); 0: only on changes. */
  readonly keyRefreshMs?: number;
  readonly now?: () => number;
}

const PAGE = 1000;

export class ChangeFeed {
  private seq = 0;
  /** seq -> when it was first found missing. Insertion order is age order. */
  private readonly gaps = new Map<number, number>();
  /** Seqs of client changes this process made and applied itself, not read yet. Insertion order is age order. */
  private readonly appliedSeqs = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private failing = false;
  private keysPending = false;
  private keysFailing = false;
  private keysLoadedAt = 0;
  private readonly gapTimeoutMs: number;
  private readonly maxGaps: number;
  private readonly keyRefreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly repo: ChangeRepository,
    private readonly intervalMs: number,
    private readonly handlers: ChangeHandlers,
    private readonly onError: (err: Error) => void,
    options: ChangeFeedOptions = {},
  ) {
    this.gapTimeoutMs = options.gapTimeoutMs ?? 120_000;
    this.maxGaps = options.maxGaps ?? 1000;
    this.keyRefreshMs = options.keyRefreshMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  /**
   * Sets the cursor to the latest change. Call before loading state (keys, clients) from the
   * store: a change committed between the two is then read again, never lost. Seqs just below
   * the latest that are missing may belong to writes still in flight: they are watched as gaps.
   */
  async start(): Promise<void> {
    const latest = await this.repo.latestSeq();
    const from = Math.max(0, latest - this.maxGaps);
    const present = new Set(await this.repo.seqsBetween(from, latest));
    const now = this.now();
    for (let n = from + 1; n < latest; n++) if (!present.has(n)) this.gaps.set(n, now);
    this.seq = latest;
    this.keysLoadedAt = now;
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** false while the store does not answer; a missed change is read once it does (the log is durable). */
  get healthy(): boolean {
    return !this.failing;
  }

  /**
   * A client change with this seq was made, committed and applied by this process: when the feed reads it,
   * it does not hand it to `client` again. A seq already read is ignored (it was handled as any other).
   */
  appliedHere(seq: number): void {
    if (seq <= this.seq && !this.gaps.has(seq)) return;
    this.appliedSeqs.add(seq);
    while (this.appliedSeqs.size > this.maxGaps) this.appliedSeqs.delete(this.appliedSeqs.values().next().value!);
  }

  /** The seqs still awaited (for tests and diagnostics). */
  get pendingGaps(): number[] {
    return [...this.gaps.keys()];
  }

  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const now = this.now();
    for (const [seq, since] of this.gaps) {
      if (now - since <= this.gapTimeoutMs) break;
      this.gaps.delete(seq);
    }
    let keysChanged = this.keysPending || (this.keyRefreshMs > 0 && now - this.keysLoadedAt >= this.keyRefreshMs);
    for (;;) {
      let changes: Change[];
      try {
        changes = await this.repo.sinceOrIn(this.seq, [...this.gaps.keys()], PAGE);
      } catch (err) {
        this.fail(err as Error);
        if (keysChanged) this.keysPending = true;
        return;
      }
      this.failing = false;
      const clients: string[] = [];
      let revocations = false;
      for (const change of changes) {
        if (!this.take(change.seq, now)) continue;
        if (change.kind === 'client') {
          if (!this.appliedSeqs.delete(change.seq)) clients.push(change.subject);
        }
        else if (change.kind === 'key') keysChanged = true;
        else if (change.kind === 'revocation') revocations = true;
      }
      // Revocations first. Enabling a client writes a new cut-off with it; dropping the cached (disabled)
      // client before that cut-off is read here would issue tokens that this node still reports inactive.
      if (revocations) {
        try {
          await this.handlers.revocation?.();
        } catch (err) {
          this.onError(err as Error);
        }
      }
      for (const clientId of clients) this.handlers.client(clientId);
      if (changes.length < PAGE) break;
    }
    this.handlers.synced?.(now);
    if (!keysChanged) return;
    try {
      await this.handlers.key();
      this.keysPending = this.keysFailing = false;
      this.keysLoadedAt = now;
    } catch (err) {
      this.keysPending = true;
      if (!this.keysFailing) this.onError(err as Error);
      this.keysFailing = true;
    }
  }

  /** Moves the cursor past `seq` (recording what it skips), or fills a gap. false when already seen. */
  private take(seq: number, now: number): boolean {
    if (seq <= this.seq) return this.gaps.delete(seq);
    for (let n = Math.max(this.seq + 1, seq - this.maxGaps); n < seq; n++) this.gaps.set(n, now);
    this.seq = seq;
    while (this.gaps.size > this.maxGaps) this.gaps.delete(this.gaps.keys().next().value!);
    return true;
  }

  private fail(err: Error): void {
    if (!this.failing) this.onError(err);
    this.failing = true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
