/**
 * In-memory view of client records, so the token hot path never waits on the store.
 * Entries are dropped when the change feed reports a change, and re-read after clientCacheTtl
 * as a safety net. While the store is down, stale entries keep serving for storeOutageGrace.
 */
import type { ClientRecord, ClientRepository } from '../../store/client-repository.js';

export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

interface Entry {
  readonly record: ClientRecord | undefined;
  readonly loadedAt: number;
}

const MAX_ENTRIES = 100_000;

export interface ClientDirectoryOptions {
  readonly ttlMs: number;
  readonly outageGraceMs: number;
  readonly now?: () => number;
}

export class ClientDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ClientRecord | undefined>>();
  private readonly listeners: ((clientId: string) => void)[] = [];
  private catchUp: () => Promise<void> = async () => {};
  private readonly now: () => number;

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

  invalidate(clientId: string): void {
    this.entries.delete(clientId);
    for (const listener of this.listeners) listener(clientId);
  }

  invalidateAll(): void {
    for (const clientId of [...this.entries.keys()]) this.invalidate(clientId);
  }

  /** The client's record, or undefined when unknown. Throws StoreUnavailableError when it cannot tell. */
  async get(clientId: string): Promise<ClientRecord | undefined> {
    const entry = this.entries.get(clientId);
    const now = this.now();
    if (entry && now - entry.loadedAt < this.options.ttlMs) return entry.record;
    try {
      return await this.load(clientId, now);
    } catch (err) {
      // Known clients keep working through a store outage, for a bounded time.
      if (entry?.record && now - entry.loadedAt < this.options.ttlMs + this.options.outageGraceMs) return entry.record;
      throw new StoreUnavailableError(`store unreachable while loading client: ${(err as Error).message}`);
    }
  }

  private load(clientId: string, now: number): Promise<ClientRecord | undefined> {
    const pending = this.inflight.get(clientId);
    if (pending) return pending;
    const promise = this.repo
      .find(clientId)
      .then(async (record) => {
        // After the read, so the revocations are at least as new as the record; and a store outage fails
        // the read at once, without a catch-up in front of it. A failed catch-up only delays a re-enabled
        // client's tokens being reported active: the record decides whether a token is issued.
        await this.catchUp().catch(() => {});
        if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
        this.entries.set(clientId, { record, loadedAt: now });
        return record;
      })
      .finally(() => this.inflight.delete(clientId));
    this.inflight.set(clientId, promise);
    return promise;
  }
}
