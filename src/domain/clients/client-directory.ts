/**
 * In-memory view of client records, so the token hot path never waits on the store.
 * Entries are dropped when the change feed reports a change, and re-read after clientCacheTtl
 * as a safety net: in the background, the stale record still serving (stale-while-revalidate), so
 * a store that stops answering without a word never holds a known client's request. While the store
 * is down, stale entries keep serving for storeOutageGrace.
 *
 * Unknown ids cost no store read either. The directory holds the list of every client id (read once,
 * then kept current by the change feed: a change to an id adds it; re-read every clientCacheTtl), so
 * a guessed id is answered from memory. A client created a moment ago by the CLI or another node may
 * not be in the list yet: one id outside it per second (five at once) is still looked up in the store (requests
 * for an id whose look-up is under way join it, taking none), and the change feed adds the new id within one
 * sync interval anyway. Ids looked up and not found are
 * remembered (bounded, dropped when the feed reports the id). While the list is not confirmed current
 * (the feed cannot read the store), an id outside it gets "cannot tell" (503), not "unknown".
 */
import type { ClientRecord, ClientRepository } from '../../store/client-repository.js';
import { CLIENT_ID_PATTERN } from '../../model/client.js';
import { D1AuthzError } from '../../errors/d1authz-error.js';

export class StoreUnavailableError extends D1AuthzError {
  override readonly name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_UNAVAILABLE', message, options);
  }
}

interface Entry {
  readonly record: ClientRecord;
  readonly loadedAt: number;
}

interface Load {
  readonly promise: Promise<ClientRecord | undefined>;
  /** The client changed while this read was under way: its answer may predate the change; not cached. */
  outdated: boolean;
  /** The read bounded by the store wait, counted from when the read began: callers that join it share its deadline. */
  bounded?: Promise<ClientRecord | undefined>;
}

const MAX_ENTRIES = 100_000;
/** Beyond this many clients the id list is not kept, and every uncached id is looked up. */
const MAX_LISTED_IDS = 100_000;
const MAX_ABSENT = 10_000;
/**
 * Store reads for ids outside the id list (clients created a moment ago): one per second, five at once.
 * A flood of guesses is limited by the slow hash to some tens per second per node; this keeps its
 * store reads to one per second, and still finds a client created elsewhere at once in normal times.
 */
export const UNLISTED_LOOKUPS_PER_SECOND = 1;
export const UNLISTED_LOOKUP_BURST = 5;

export interface ClientDirectoryOptions {
  readonly ttlMs: number;
  readonly outageGraceMs: number;
  /**
   * Keep the list of client ids, trusted to say an id is unknown while it was confirmed this recently
   * (read from the store, or the change feed read every change up to then: `confirmIds`). Unset: no list.
   */
  readonly idListMaxAgeMs?: number;
  /** How long a request waits for the store before it is answered 503 (the read goes on, and fills the cache). */
  readonly storeWaitMs?: number;
  readonly now?: () => number;
}

/** The longest a request waits for a store read of a client. */
export const DEFAULT_STORE_WAIT_MS = 500;

export class ClientDirectory {
  private readonly entries = new Map<string, Entry>();
  /** Ids read and not found, with when. */
  private readonly absent = new Map<string, number>();
  private readonly inflight = new Map<string, Load>();
  private readonly listeners: ((clientId: string) => void)[] = [];
  private catchUp: () => Promise<void> = async () => {};
  private readonly now: () => number;
  private ids: Set<string> | undefined;
  private idsLoadedAt = -Infinity;
  private idsConfirmedAt = -Infinity;
  private idsLoading: Promise<void> | undefined;
  /** Ids the feed reported while the list was being read: the read may predate them. */
  private idsReportedDuringLoad: Set<string> | undefined;
  private unlistedBudget = UNLISTED_LOOKUP_BURST;
  private unlistedBudgetAt = 0;

  constructor(
    private readonly repo: ClientRepository,
    private readonly options: ClientDirectoryOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Called with the client id whenever a client's cached state is dropped. */
  onInvalidate(listener: (clientId: string) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Run after a record is read from the store, before it is served. The change feed drops a cached client
   * only after the revocations written with its change are read; a record read on a cache miss must not be
   * newer than them either, or a client enabled again gets tokens this node still reports inactive.
   */
  beforeLoad(catchUp: () => Promise<void>): void {
    this.catchUp = catchUp;
  }

  /** The client changed (or may have: created, deleted): forget what is cached, and list the id. */
  invalidate(clientId: string): void {
    this.entries.delete(clientId);
    this.absent.delete(clientId);
    const load = this.inflight.get(clientId);
    if (load) load.outdated = true;
    this.ids?.add(clientId);
    this.idsReportedDuringLoad?.add(clientId);
    for (const listener of this.listeners) listener(clientId);
  }

  invalidateAll(): void {
    for (const clientId of [...this.entries.keys()]) this.invalidate(clientId);
    this.absent.clear();
  }

  /** The change feed has handed over every change committed before `at`: the id list was current then. */
  confirmIds(at: number): void {
    if (this.ids) this.idsConfirmedAt = Math.max(this.idsConfirmedAt, at);
  }

  /** Reads the list of client ids (start-up, then every clientCacheTtl in the background). Throws when the store fails. */
  loadIds(): Promise<void> {
    if (this.options.idListMaxAgeMs === undefined) return Promise.resolve();
    this.idsLoading ??= this.readIds().finally(() => {
      this.idsLoading = undefined;
      this.idsReportedDuringLoad = undefined;
    });
    return this.idsLoading;
  }

  private async readIds(): Promise<void> {
    const startedAt = this.now();
    this.idsLoadedAt = startedAt; // also when it fails: the next try waits a TTL, not the next request
    this.idsReportedDuringLoad = new Set();
    const ids = await this.repo.ids(MAX_LISTED_IDS + 1);
    if (ids.length > MAX_LISTED_IDS) {
      this.ids = undefined;
      return;
    }
    const list = new Set(ids);
    for (const id of this.idsReportedDuringLoad) list.add(id);
    this.ids = list;
    this.idsConfirmedAt = Math.max(this.idsConfirmedAt, startedAt);
  }

  /** The client's record, or undefined when unknown. Throws StoreUnavailableError when it cannot tell. */
  async get(clientId: string): Promise<ClientRecord | undefined> {
    // No client has such an id (creation checks the pattern): nothing to look up.
    if (!CLIENT_ID_PATTERN.test(clientId)) return undefined;
    const now = this.now();
    this.refreshIdsWhenDue(now);
    const entry = this.entries.get(clientId);
    if (entry) {
      const age = now - entry.loadedAt;
      if (age < this.options.ttlMs) return entry.record;
      // Known clients keep working while the store is slow or down, for a bounded time.
      if (age < this.options.ttlMs + this.options.outageGraceMs) {
        this.load(clientId, now).catch(() => {});
        return entry.record;
      }
    }
    if (this.knownAbsent(clientId, now)) return undefined;
    try {
      return await this.loadWithinStoreWait(clientId, now);
    } catch (err) {
      throw new StoreUnavailableError(`store unreachable while loading client: ${(err as Error).message}`);
    }
  }

  /** true: unknown without asking the store. Throws when the id list is out of date and the id is not in it. */
  private knownAbsent(clientId: string, now: number): boolean {
    const absentSince = this.absent.get(clientId);
    if (absentSince !== undefined && now - absentSince < this.options.ttlMs) return true;
    if (!this.ids || this.ids.has(clientId)) return false;
    // A look-up of this id already under way is joined: it costs no second read, so it takes no look-up
    // either (else a client created a moment ago is "unknown" to the sixth of its concurrent requests).
    const pending = this.inflight.get(clientId);
    if (pending && !pending.outdated) return false;
    // Not listed: created a moment ago by the CLI or another node, or (far more often) a guess.
    if (this.takeUnlistedLookup(now)) return false;
    if (now - this.idsConfirmedAt <= this.options.idListMaxAgeMs!) return true;
    throw new StoreUnavailableError('cannot tell whether the client exists: the client list is not confirmed current');
  }

  private takeUnlistedLookup(now: number): boolean {
    const elapsed = Math.max(0, now - this.unlistedBudgetAt);
    this.unlistedBudget = Math.min(UNLISTED_LOOKUP_BURST, this.unlistedBudget + (elapsed * UNLISTED_LOOKUPS_PER_SECOND) / 1000);
    this.unlistedBudgetAt = now;
    if (this.unlistedBudget < 1) return false;
    this.unlistedBudget--;
    return true;
  }

  private refreshIdsWhenDue(now: number): void {
    if (this.options.idListMaxAgeMs !== undefined && now - this.idsLoadedAt >= this.options.ttlMs) this.loadIds().catch(() => {});
  }

  private loadWithinStoreWait(clientId: string, now: number): Promise<ClientRecord | undefined> {
    const promise = this.load(clientId, now);
    const load = this.inflight.get(clientId);
    if (load?.promise !== promise) return this.withinStoreWait(promise);
    load.bounded ??= this.withinStoreWait(promise);
    return load.bounded;
  }

  private withinStoreWait<T>(read: Promise<T>): Promise<T> {
    const waitMs = this.options.storeWaitMs ?? DEFAULT_STORE_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${waitMs} ms`)), waitMs);
    });
    return Promise.race([read, timeout]).finally(() => clearTimeout(timer));
  }

  private load(clientId: string, now: number): Promise<ClientRecord | undefined> {
    // A read begun before the client changed is not joined: its answer may predate the change.
    const pending = this.inflight.get(clientId);
    if (pending && !pending.outdated) return pending.promise;
    const promise = this.repo
      .find(clientId)
      .then(async (record) => {
        // After the read, so the revocations are at least as new as the record; and a store outage fails
        // the read at once, without a catch-up in front of it. A failed catch-up only delays a re-enabled
        // client's tokens being reported active: the record decides whether a token is issued.
        await this.catchUp().catch(() => {});
        if (!load.outdated) this.remember(clientId, record, now);
        return record;
      })
      .finally(() => {
        if (this.inflight.get(clientId) === load) this.inflight.delete(clientId);
      });
    // A read the request stopped waiting for still ends here, not as an unhandled rejection.
    promise.catch(() => {});
    const load: Load = { promise, outdated: false };
    this.inflight.set(clientId, load);
    return promise;
  }

  private remember(clientId: string, record: ClientRecord | undefined, now: number): void {
    if (record) {
      this.absent.delete(clientId);
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(clientId, { record, loadedAt: now });
      return;
    }
    this.entries.delete(clientId);
    if (this.absent.size >= MAX_ABSENT) this.absent.delete(this.absent.keys().next().value!);
    this.absent.set(clientId, now);
  }
}
