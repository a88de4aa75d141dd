/**
 * Brute-force lockout of source addresses. Failed client authentications are counted per address
 * and per (client id, address) in shared counters (store or Redis); past the threshold an attempt
 * is refused (LockedOutError, 429) before its slow hash runs.
 *
 * The real client cannot be locked out by someone else: an attempt whose credentials are already in
 * the verified-credential cache, or that presents the certificate its client is bound to, is never
 * refused; and a lock holds one address only.
 *
 * The counters are read only for attempts about to pay a slow hash (one read by key, small next to
 * the hash), and a lock seen is remembered here (read again each second, so that `lockout clear`
 * reaches every process), so a flood from a locked address costs the store nothing. When the counters
 * cannot be reached the lockout fails open: attempts are verified as usual, nothing queues.
 */
import type { CredentialCache } from '../clients/credential-cache.js';
import type { ClientDirectory } from '../clients/client-directory.js';
import { secretForm } from '../clients/secret-form.js';
import { addressCounterKey, clientCounterKey, type CounterKey, type LockoutCounters } from '../../store/lockout-counters.js';
import type { Attempt, FailedAttempt } from './attempt.js';
import { lockoutAddress } from './lockout-address.js';
import { retentionMs, type LockoutSettings } from '../../model/lockout-policy.js';
import { D1AuthzError } from '../../errors/d1authz-error.js';

export class LockedOutError extends D1AuthzError {
  override readonly name = 'LockedOutError';
  constructor(
    readonly retryAfterSeconds: number,
    detail: string,
  ) {
    super('ERR_LOCKED_OUT', detail, { detail });
  }
}

/** A lock that a failure seen by this process just engaged (or doubled). */
export interface LockoutEvent {
  /** The address locked (IPv6: its /64). */
  readonly address: string;
  /** The client id as presented, when the lock is for that client from that address; absent: the whole address. */
  readonly clientId?: string;
  readonly lockedUntil: Date;
  readonly lockSeconds: number;
}

export interface LockoutOptions {
  readonly now?: () => number;
  /** The longest a counter read or write may take before the lockout gives up on it (fails open). */
  readonly counterTimeoutMs?: number;
  /** How long a lock read here is believed before it is read again (a clear shows after this). */
  readonly recheckMs?: number;
  /** Counters remembered here at most (the oldest are forgotten first). */
  readonly maxRemembered?: number;
  /** Counter writes in flight at most; beyond, a failure goes uncounted rather than queue. */
  readonly maxWritesInFlight?: number;
  /** Told once per outage when the counters cannot be reached. */
  readonly onCounterError?: (err: Error) => void;
}

/** Client ids are attacker-chosen: a key holds at most this much of one. */
const MAX_CLIENT_ID_IN_KEY = 200;

interface Remembered {
  readonly lockedUntil: number;
  readonly readAt: number;
}

export class Lockout {
  private readonly remembered = new Map<string, Remembered>();
  private readonly listeners: ((event: LockoutEvent) => void)[] = [];
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly recheckMs: number;
  private readonly maxRemembered: number;
  private readonly maxWrites: number;
  private writes = 0;
  private failing = false;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly counters: LockoutCounters,
    private readonly cache: CredentialCache,
    private readonly directory: ClientDirectory,
    readonly settings: LockoutSettings,
    private readonly options: LockoutOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.counterTimeoutMs ?? 1000;
    this.recheckMs = options.recheckMs ?? 1000;
    this.maxRemembered = options.maxRemembered ?? 10_000;
    this.maxWrites = options.maxWritesInFlight ?? 64;
  }

  /**
   * The one place a `client.locked_out` event is raised: every listener hears each lock this
   * process engaged (metrics, the log, the audit trail).
   */
  onLockout(listener: (event: LockoutEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Throws LockedOutError when the attempt comes from a locked address and proves nothing. */
  async admit(attempt: Attempt): Promise<void> {
    // Proved earlier (costs an HMAC) or proved by the TLS handshake: never refused.
    const form = attempt.secret === undefined ? undefined : secretForm(attempt.secret);
    if (form && this.cache.has(attempt.clientId, form)) return;
    if (attempt.presentsBoundCertificate) {
      const record = await this.directory.get(attempt.clientId).catch(() => undefined);
      if (record && attempt.presentsBoundCertificate(record.client)) return;
    }
    const keys = this.keysOf(attempt);
    if (!keys) return;
    const now = this.now();
    // The client's record is read next anyway: when the counters must be read too, both reads run at
    // once, so that a slow store costs one wait, not two.
    const until = await this.lockedUntil(
      keys.map((k) => k.key),
      now,
      () => void this.directory.get(attempt.clientId).catch(() => undefined),
    );
    if (until > now) {
      const scope = keys.length > 1 && until === this.remembered.get(keys[1]!.key)?.lockedUntil ? 'this client from this address' : 'this address';
      throw new LockedOutError(Math.max(1, Math.ceil((until - now) / 1000)), `locked out: ${scope} (${keys[0]!.address}) until ${new Date(until).toISOString()}`);
    }
  }

  /** Counts a failed client authentication; never throws, and waits at most the counter time-out. */
  async failed(attempt: FailedAttempt): Promise<void> {
    const keys = this.keysOf(attempt);
    if (!keys) return;
    const now = this.now();
    // Already locked here: the attempt never reached a hash, and the lock does not grow while it runs.
    const live = keys.filter((k) => (this.remembered.get(k.key)?.lockedUntil ?? 0) <= now);
    if (live.length === 0 || this.writes >= this.maxWrites) return;
    this.writes++;
    try {
      const states = await this.bounded(this.counters.recordFailure(live, now, this.settings));
      this.failing = false;
      live.forEach((k, i) => {
        const state = states[i]!;
        this.remember(k.key, { lockedUntil: state.lockedUntil, readAt: now });
        if (state.lockMs > 0 && state.lockedUntil === now + state.lockMs) this.emit(k, state.lockedUntil, state.lockMs);
      });
    } catch (err) {
      this.counterError(err);
    } finally {
      this.writes--;
    }
  }

  /** Distinct addresses locked now, node-wide (the counters), or as far as this process knows when they cannot be read. */
  async lockedAddresses(): Promise<number> {
    const now = this.now();
    try {
      return await this.bounded(this.counters.lockedAddresses(now));
    } catch {
      const addresses = new Set<string>();
      for (const [key, r] of this.remembered) if (r.lockedUntil > now) addresses.add(key.split(' ')[1]!);
      return addresses.size;
    }
  }

  /** Forgets counters that can no longer matter, every `everyMs`. */
  startPruning(everyMs = 60_000): void {
    this.pruneTimer = setInterval(() => {
      this.counters.prune(this.now() - retentionMs(this.settings)).catch(() => {});
    }, everyMs);
    this.pruneTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.counters.close();
  }

  private keysOf(attempt: FailedAttempt): CounterKey[] | undefined {
    const address = lockoutAddress(attempt.address);
    if (address === undefined) return undefined;
    const keys = [addressCounterKey(address)];
    if (attempt.clientId !== undefined) keys.push(clientCounterKey(address, attempt.clientId.slice(0, MAX_CLIENT_ID_IN_KEY)));
    return keys;
  }

  private async lockedUntil(keys: readonly string[], now: number, beforeRead: () => void): Promise<number> {
    let until = 0;
    const stale: string[] = [];
    for (const key of keys) {
      // Only a running lock is believed without a read: one engaged elsewhere must be seen at once.
      const r = this.remembered.get(key);
      if (r && r.lockedUntil > now && now - r.readAt < this.recheckMs) until = Math.max(until, r.lockedUntil);
      else stale.push(key);
    }
    if (stale.length === 0 || until > now) return until;
    beforeRead();
    try {
      const values = await this.bounded(this.counters.lockedUntil(stale));
      this.failing = false;
      stale.forEach((key, i) => {
        this.remember(key, { lockedUntil: values[i]!, readAt: now });
        until = Math.max(until, values[i]!);
      });
    } catch (err) {
      // Fail open: what was known before the outage still holds until it ends.
      this.counterError(err);
      for (const key of stale) until = Math.max(until, this.remembered.get(key)?.lockedUntil ?? 0);
    }
    return until;
  }

  private remember(key: string, value: Remembered): void {
    this.remembered.delete(key);
    if (this.remembered.size >= this.maxRemembered) this.remembered.delete(this.remembered.keys().next().value!);
    this.remembered.set(key, value);
  }

  private emit(key: CounterKey, lockedUntil: number, lockMs: number): void {
    const event: LockoutEvent = {
      address: key.address,
      ...(key.clientId !== undefined ? { clientId: key.clientId } : {}),
      lockedUntil: new Date(lockedUntil),
      lockSeconds: Math.ceil(lockMs / 1000),
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        /* a listener's failure must not fail the request */
      }
    }
  }

  private bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`lockout counters did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private counterError(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.options.onCounterError?.(err instanceof Error ? err : new Error(String(err)));
  }
}
