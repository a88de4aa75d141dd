/**
 * Remote JWKS key source with the refetch policy the guard needs.
 *
 * Why not jose's createRemoteJWKSet: its `cooldownDuration` runs from the last *successful fetch of
 * any kind*, so a key rotation published within 30 s of the initial (or periodic) fetch fails every
 * request carrying the new `kid` until the cooldown ends. Here the cooldown only applies between
 * refetches *triggered by an unknown kid*, so:
 *
 *  - the first unknown kid after any fetch triggers exactly one refetch (a rotation never fails);
 *  - further unknown kids within `cooldownMs` of that refetch do not fetch (a flood of bogus kids
 *    costs at most one fetch per cooldown window);
 *  - at most one fetch is ever in flight; concurrent callers share it;
 *  - keys older than `maxAgeMs` are refreshed in the background while the old set keeps serving;
 *  - a failed fetch is retried no sooner than `retryBackoffMs`, and a failed refresh keeps the last
 *    good key set (so a JWKS outage does not take down verification of known keys).
 *
 * Keys are imported once per key set as node:crypto KeyObjects (jws.ts), and a JWK whose members
 * are all unchanged in the next set keeps its KeyObject. Selection follows RFC 7515 §4.1.4
 * ("The "kid" (key ID) Header Parameter is a hint indicating which key was used to secure the
 * JWS"): a token with a kid matches the keys with that kid, one without a kid matches any key;
 * either way only keys whose kty/crv/alg/use fit the token's alg count, and more than one
 * candidate is refused rather than tried in turn.
 */
import { importVerificationKey } from './jws.js';
import type { VerificationKey } from './jws.js';
import type { Transport } from './transport.js';
import type { KeyObject } from 'node:crypto';
import { D1AuthzError } from './error-family.js';

/** Thrown when no key set could be obtained; the guard maps it to 503. */
export class JwksUnavailableError extends D1AuthzError {
  override readonly name = 'JwksUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_JWKS_UNAVAILABLE', message, { cause: options?.cause });
  }
}

/** No key in the set (even after the refetch the policy allows) fits the token's kid and alg. */
export class NoMatchingKeyError extends D1AuthzError {
  override readonly name = 'NoMatchingKeyError';
  constructor() {
    super('ERR_JWKS_NO_MATCHING_KEY', 'no key in the JWKS matches the token');
  }
}

/** More than one key fits the token's kid (or the token has no kid) and alg. */
export class AmbiguousKeyError extends D1AuthzError {
  override readonly name = 'AmbiguousKeyError';
  constructor() {
    super('ERR_JWKS_AMBIGUOUS_KEY', 'more than one key in the JWKS matches the token');
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** One fetched JWKS, imported. Immutable; replaced as a whole when the JWKS document changes. */
class KeySet {
  /** Usable keys, in document order. */
  private readonly all: readonly VerificationKey[];
  private readonly byKid = new Map<string, VerificationKey[]>();

  constructor(
    /** Every JWK of the document, serialised, to its import (undefined: not usable). */
    readonly imported: ReadonlyMap<string, VerificationKey | undefined>,
    usable: readonly VerificationKey[],
  ) {
    this.all = usable;
    for (const k of usable) {
      if (k.kid === undefined) continue;
      const list = this.byKid.get(k.kid);
      if (list) list.push(k);
      else this.byKid.set(k.kid, [k]);
    }
  }

  /** The one key for this alg and kid; undefined if none; AmbiguousKeyError if several. */
  select(alg: string, kid: string | undefined): KeyObject | undefined {
    const pool = kid === undefined ? this.all : this.byKid.get(kid);
    if (pool === undefined) return undefined;
    let found: VerificationKey | undefined;
    for (const k of pool) {
      if (!k.algs.has(alg)) continue;
      if (found) throw new AmbiguousKeyError();
      found = k;
    }
    return found?.key;
  }

  /** Imports `jwks`, reusing the KeyObjects of `previous` for JWKs that did not change. */
  static from(jwks: readonly Record<string, unknown>[], previous: KeySet | undefined): KeySet {
    const imported = new Map<string, VerificationKey | undefined>();
    const usable: VerificationKey[] = [];
    for (const jwk of jwks) {
      const id = JSON.stringify(jwk);
      if (imported.has(id)) continue; // the same key twice is one key, not an ambiguity
      const key = previous?.imported.has(id) ? previous.imported.get(id) : importVerificationKey(jwk);
      imported.set(id, key);
      if (key) usable.push(key);
    }
    return new KeySet(imported, usable);
  }
}

export interface RemoteJwksOptions {
  url: URL;
  /** How requests reach `url` (TLS trust anchors, client certificate). */
  transport: Transport;
  /** Min time between two unknown-kid-triggered refetches. */
  cooldownMs: number;
  /** Refresh (in the background) a key set older than this. */
  maxAgeMs: number;
  /** Abort a JWKS fetch after this long. */
  fetchTimeoutMs: number;
  /** Min time between a failed fetch and the next attempt. */
  retryBackoffMs: number;
  /** Max JWKS document size. */
  maxBytes?: number;
  /** Called after a successful fetch whose content differs from the previous one. */
  onKeySetChange?: (kids: ReadonlySet<string>) => void;
}

export interface JwksStats {
  /** Fetch attempts (successful or not). */
  fetches: number;
  fetchFailures: number;
  /** Number of keys in the current set (0 before the first successful fetch). */
  keys: number;
}

export class RemoteJwks {
  private readonly opts: Required<Omit<RemoteJwksOptions, 'onKeySetChange'>> &
    Pick<RemoteJwksOptions, 'onKeySetChange'>;
  private set: KeySet | undefined;
  private raw: string | undefined;
  private keyCount = 0;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private lastMissRefetchAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | undefined;
  private fetches = 0;
  private fetchFailures = 0;

  constructor(options: RemoteJwksOptions) {
    this.opts = { maxBytes: 1024 * 1024, ...options };
  }

  stats(): JwksStats {
    return { fetches: this.fetches, fetchFailures: this.fetchFailures, keys: this.keyCount };
  }

  /**
   * The key for a token's alg (already on the allow-list) and kid. Synchronous when the current
   * set has it (the hot path: no promise); otherwise a promise that applies the fetch policy.
   * Throws/rejects with NoMatchingKeyError, AmbiguousKeyError or JwksUnavailableError.
   */
  keyFor(alg: string, kid: string | undefined): KeyObject | Promise<KeyObject> {
    const set = this.set;
    if (set === undefined) return this.loadThenSelect(alg, kid);
    this.refreshIfStale();
    return set.select(alg, kid) ?? this.afterMiss(set, alg, kid);
  }

  /** Force a refetch now (single-flight; ignores cooldown). */
  async reload(): Promise<void> {
    await this.refresh();
  }

  private refreshIfStale(): void {
    const now = Date.now();
    if (now - this.loadedAt >= this.opts.maxAgeMs && !this.inflight && now - this.lastFailureAt >= this.opts.retryBackoffMs) {
      // Stale: refresh in the background, keep serving the last good set meanwhile.
      this.refresh().catch(() => undefined);
    }
  }

  private async loadThenSelect(alg: string, kid: string | undefined): Promise<KeyObject> {
    if (!this.inflight && Date.now() - this.lastFailureAt < this.opts.retryBackoffMs) {
      throw new JwksUnavailableError('signing keys are not available (recent fetch failed)');
    }
    await this.refresh();
    const set = this.set;
    if (!set) throw new JwksUnavailableError('signing keys are not available');
    return set.select(alg, kid) ?? this.afterMiss(set, alg, kid);
  }

  /** `set` has no key for this token: maybe the key set rotated. */
  private async afterMiss(set: KeySet, alg: string, kid: string | undefined): Promise<KeyObject> {
    // First share any fetch already under way, or use a set that arrived meanwhile.
    if (this.inflight) await this.inflight.catch(() => undefined);
    if (this.set && this.set !== set) {
      const key = this.set.select(alg, kid);
      if (key) return key;
    }
    const now = Date.now();
    if (now - this.lastMissRefetchAt < this.opts.cooldownMs || now - this.lastFailureAt < this.opts.retryBackoffMs) {
      throw new NoMatchingKeyError();
    }
    this.lastMissRefetchAt = now;
    await this.refresh();
    const key = this.set!.select(alg, kid);
    if (!key) throw new NoMatchingKeyError();
    return key;
  }

  private refresh(): Promise<void> {
    if (!this.inflight) {
      const p = this.fetchOnce().finally(() => {
        if (this.inflight === p) this.inflight = undefined;
      });
      this.inflight = p;
    }
    return this.inflight;
  }

  private async fetchOnce(): Promise<void> {
    this.fetches++;
    try {
      const text = await this.download();
      if (this.set && text === this.raw) {
        // Unchanged: keep the existing set (and the keys it already imported).
        this.loadedAt = Date.now();
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new JwksUnavailableError('JWKS response is not JSON', { cause });
      }
      // RFC 7517 §5: "The JSON object MUST have a "keys" member, with its value being an array of JWKs."
      if (!isPlainObject(json) || !Array.isArray(json['keys']) || !json['keys'].every(isPlainObject)) {
        throw new JwksUnavailableError('JWKS response is not a valid JSON Web Key Set');
      }
      const keys = json['keys'];
      this.set = KeySet.from(keys, this.set);
      this.raw = text;
      this.keyCount = keys.length;
      this.loadedAt = Date.now();
      if (this.opts.onKeySetChange) {
        const kids = new Set<string>();
        for (const k of keys) if (typeof k.kid === 'string') kids.add(k.kid);
        this.opts.onKeySetChange(kids);
      }
    } catch (err) {
      this.fetchFailures++;
      this.lastFailureAt = Date.now();
      throw err instanceof JwksUnavailableError
        ? err
        : new JwksUnavailableError('JWKS fetch failed', { cause: err });
    }
  }

  private async download(): Promise<string> {
    const { status, text } = await this.opts.transport.request(this.opts.url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      signal: AbortSignal.timeout(this.opts.fetchTimeoutMs),
      maxBytes: this.opts.maxBytes,
    });
    if (status !== 200) throw new JwksUnavailableError(`JWKS endpoint answered HTTP ${status}`);
    if (text === null) throw new JwksUnavailableError('JWKS response too large');
    return text;
  }
}
