/**
 * Revocation checking by introspection (RFC 7662): an `isRevoked` for createGuard that asks the
 * d1-authz introspection endpoint whether a token is still active, and reuses the answer for a
 * short time.
 *
 *   const guard = createGuard({
 *     issuer, audience,
 *     isRevoked: createIntrospectionCheck({ introspectionEndpoint: `${issuer}/oauth2/introspect`, clientId, clientSecret }),
 *   });
 *
 * A revoked token is refused at most `cacheTtlMs` after the node answering the introspection learnt
 * of the revocation (at once on the node that took it, within its sync interval on the others).
 * Inactive answers are kept until the token expires: a token never becomes active again.
 * Failures (endpoint down, bad credentials) throw, so the guard answers 503: it fails closed.
 */
import type { AccessTokenClaims } from './guard.js';
import { basicAuthorization, checkCredentials, checkEndpoint, parseJsonAnswer, type ResourceServerCredentials } from './client-credentials.js';
import { createTransport } from './transport.js';
import { D1AuthzError } from './error-family.js';

export interface IntrospectionCheckOptions extends ResourceServerCredentials {
  /** The introspection endpoint, e.g. `${issuer}/oauth2/introspect` (introspection_endpoint in the metadata). */
  introspectionEndpoint: string | URL;
  /** How long an "active" answer is reused (ms). Default 5000. This is the revocation delay bound. */
  cacheTtlMs?: number;
  /** Cached answers (entries). Default 10000. */
  cacheMaxEntries?: number;
  /** Per-request timeout (ms). Default 2000. */
  timeoutMs?: number;
  /** Allow an http: endpoint on a non-loopback host. Default false. */
  allowInsecure?: boolean;
}

export interface IntrospectionStats {
  requests: number;
  cacheHits: number;
  failures: number;
  cacheSize: number;
}

export interface IntrospectionCheck {
  (claims: Readonly<AccessTokenClaims>, token: string): Promise<boolean>;
  stats(): IntrospectionStats;
  clearCache(): void;
}

interface Answer {
  readonly revoked: boolean;
  readonly until: number;
}

export class IntrospectionError extends D1AuthzError {
  override readonly name = 'IntrospectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INTROSPECTION_FAILED', message, { cause: options?.cause });
  }
}

export function createIntrospectionCheck(options: IntrospectionCheckOptions): IntrospectionCheck {
  checkCredentials(options);
  const url = checkEndpoint('introspectionEndpoint', options.introspectionEndpoint, options.allowInsecure);
  const transport = createTransport('introspectionEndpoint', url, options.tls);
  const authorization = basicAuthorization(options);
  const ttl = options.cacheTtlMs ?? 5000;
  const maxEntries = options.cacheMaxEntries ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 2000;
  if (!Number.isFinite(ttl) || ttl < 0) throw new TypeError('cacheTtlMs must be a non-negative number');
  const cache = new Map<string, Answer>();
  const pending = new Map<string, Promise<boolean>>();
  const counters = { requests: 0, cacheHits: 0, failures: 0 };

  async function ask(token: string): Promise<boolean> {
    counters.requests++;
    let body: unknown;
    try {
      const form = new URLSearchParams({ token, token_type_hint: 'access_token' }).toString();
      const { status, text } = await transport.request(url, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form), accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(timeoutMs),
        maxBytes: 64 * 1024,
      });
      if (status !== 200) throw new IntrospectionError(`introspection endpoint answered HTTP ${status}`);
      body = parseJsonAnswer(text);
    } catch (err) {
      counters.failures++;
      throw err instanceof IntrospectionError ? err : new IntrospectionError('introspection request failed', { cause: err });
    }
    // RFC 7662 §2.2: "active REQUIRED. Boolean indicator of whether or not the presented token is currently active."
    const active = (body as { active?: unknown } | null)?.active;
    if (typeof active !== 'boolean') {
      counters.failures++;
      throw new IntrospectionError('introspection response has no boolean "active"');
    }
    return !active;
  }

  const check = async (claims: Readonly<AccessTokenClaims>, token: string): Promise<boolean> => {
    const key = typeof claims.jti === 'string' && claims.jti !== '' ? claims.jti : token;
    const now = Date.now();
    const cached = cache.get(key);
    if (cached && cached.until > now) {
      counters.cacheHits++;
      return cached.revoked;
    }
    let p = pending.get(key);
    if (!p) {
      p = ask(token).finally(() => pending.delete(key));
      pending.set(key, p);
    }
    const revoked = await p;
    if (ttl > 0) {
      cache.delete(key);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      cache.set(key, { revoked, until: revoked ? claims.exp * 1000 : Math.min(Date.now() + ttl, claims.exp * 1000) });
    }
    return revoked;
  };

  return Object.assign(check, {
    stats: (): IntrospectionStats => ({ ...counters, cacheSize: cache.size }),
    clearCache: () => cache.clear(),
  });
}
