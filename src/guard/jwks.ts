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
 * Key selection and import (kid/alg/kty/crv/use/key_ops matching, public-key-only, no symmetric
 * algorithms) is delegated to jose's createLocalJWKSet.
 */
import { createLocalJWKSet, errors } from 'jose';
import { readBoundedText } from './bounded-body.js';
import type { FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters, LocalJWKSet, CryptoKey } from 'jose';

/** Thrown when no key set could be obtained; the guard maps it to 503. */
export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

export interface RemoteJwksOptions {
  url: URL;
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
  private local: LocalJWKSet | undefined;
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

  /** jose key resolver (pass to jwtVerify). Throws JWKSNoMatchingKey or JwksUnavailableError. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    let local = await this.current();
    try {
      return await local(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
    }
    // Unknown kid (or no key usable for this alg): maybe the key set rotated.
    // First share any fetch already under way, or use a set that arrived meanwhile.
    if (this.inflight) await this.inflight.catch(() => undefined);
    if (this.local && this.local !== local) {
      local = this.local;
      try {
        return await local(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      }
    }
    const now = Date.now();
    if (now - this.lastMissRefetchAt < this.opts.cooldownMs || now - this.lastFailureAt < this.opts.retryBackoffMs) {
      throw new errors.JWKSNoMatchingKey();
    }
    this.lastMissRefetchAt = now;
    await this.refresh();
    return this.local!(header, token);
  };

  /** Force a refetch now (single-flight; ignores cooldown). */
  async reload(): Promise<void> {
    await this.refresh();
  }

  private async current(): Promise<LocalJWKSet> {
    const now = Date.now();
    if (this.local) {
      if (now - this.loadedAt >= this.opts.maxAgeMs && !this.inflight && now - this.lastFailureAt >= this.opts.retryBackoffMs) {
        // Stale: refresh in the background, keep serving the last good set meanwhile.
        this.refresh().catch(() => undefined);
      }
      return this.local;
    }
    if (!this.inflight && now - this.lastFailureAt < this.opts.retryBackoffMs) {
      throw new JwksUnavailableError('signing keys are not available (recent fetch failed)');
    }
    await this.refresh();
    if (!this.local) throw new JwksUnavailableError('signing keys are not available');
    return this.local;
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
      if (this.local && text === this.raw) {
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
      let local: LocalJWKSet;
      try {
        local = createLocalJWKSet(json as JSONWebKeySet);
      } catch (cause) {
        throw new JwksUnavailableError('JWKS response is not a valid JSON Web Key Set', { cause });
      }
      const keys = (json as JSONWebKeySet).keys;
      this.local = local;
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
    const res = await fetch(this.opts.url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.opts.fetchTimeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new JwksUnavailableError(`JWKS endpoint answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > this.opts.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new JwksUnavailableError('JWKS response too large');
    }
    const text = await readBoundedText(res, this.opts.maxBytes);
    if (text === null) throw new JwksUnavailableError('JWKS response too large');
    return text;
  }
}
