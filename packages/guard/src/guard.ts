/**
 * Resource-server side verification of RFC 9068 JWT access tokens issued by d1-authz.
 *
 *   const guard = createGuard({ issuer: 'https://authz.example', audience: 'https://api.example' });
 *   const auth = await guard.verify(req.headers.authorization, { requiredScopes: ['d1:read'] });
 *
 * verify() throws GuardError (400/401/403, or 503 when signing keys cannot be fetched) and returns
 * { clientId, scopes, claims, expiresAt } otherwise.
 */
import type { KeyObject } from 'node:crypto';
import { claimsProblem } from './claims.js';
import { GuardError } from './errors.js';
import type { GuardErrorCode, GuardErrorStatus } from './errors.js';
import { parseAuthorization } from './header.js';
import { AmbiguousKeyError, JwksUnavailableError, NoMatchingKeyError, RemoteJwks } from './jwks.js';
import { decodeJsonSegment, splitCompactJws, SUPPORTED_ALGORITHMS, verifySignature } from './jws.js';
import type { CompactJws } from './jws.js';
import { TokenCache } from './token-cache.js';
import { createTransport } from './transport.js';
import type { GuardTlsOptions } from './transport.js';
import { thumbprintsEqual } from './thumbprint.js';

export const DEFAULT_ALGORITHMS: readonly string[] = SUPPORTED_ALGORITHMS;

/** RFC 9068 §2.2 claims (plus `cnf` from RFC 8705). Frozen when handed out. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  client_id: string;
  scope?: string;
  jti?: string;
  nbf?: number;
  cnf?: { 'x5t#S256'?: string; [key: string]: unknown };
  /** Any other claim of the token. */
  [claim: string]: unknown;
}

export interface VerifiedToken {
  clientId: string;
  /** Scopes from the space-delimited `scope` claim (deduplicated, in token order). */
  scopes: string[];
  claims: Readonly<AccessTokenClaims>;
  /** From `exp`. */
  expiresAt: Date;
}

export interface GuardOptions {
  /** Expected `iss`, compared exactly. */
  issuer: string;
  /** `aud` must contain this (or one of these). */
  audience: string | readonly string[];
  /** Default `${issuer}/.well-known/jwks.json`. Must be https unless loopback (see allowInsecureJwksUri). */
  jwksUri?: string | URL;
  /** Scopes every verify() requires; per-call requiredScopes are added to these. */
  requiredScopes?: readonly string[];
  /** Seconds of leeway for exp/nbf/iat. Default 30. */
  clockTolerance?: number;
  /** JWS alg allow-list, a subset of the default ES256, RS256, PS256, EdDSA. `none` and HS* are refused. */
  algorithms?: readonly string[];
  /** Verified-token cache size (entries). Default 10000; 0 disables the cache. */
  cacheMaxEntries?: number;
  /** Min time between two unknown-kid-triggered JWKS refetches. Default 30000. */
  jwksCooldownMs?: number;
  /** Background-refresh a key set older than this. Default 600000 (10 min). */
  jwksMaxAgeMs?: number;
  /** Min time before retrying after a failed JWKS fetch. Default 5000. */
  jwksRetryBackoffMs?: number;
  /** JWKS fetch timeout. Default 5000. */
  fetchTimeoutMs?: number;
  /** `realm` in WWW-Authenticate. Default: the (first) audience. */
  realm?: string;
  /**
   * Checked after every successful verification, cache hits included. true → 401 invalid_token; a
   * throw → 503. The raw token is passed too, for checks that need it (introspection: see
   * createIntrospectionCheck); createRevocationFeed needs only the claims.
   */
  isRevoked?: (claims: Readonly<AccessTokenClaims>, token: string) => boolean | Promise<boolean>;
  /** Allow an http: jwksUri on a non-loopback host. Default false. */
  allowInsecureJwksUri?: boolean;
  /** Longer tokens are rejected before any parsing. Default 8192. */
  maxTokenLength?: number;
  /**
   * TLS for the JWKS requests: `ca` (trust anchors of a private CA, replacing Node's default list),
   * `cert` + `key` (+ `passphrase`) for a d1-authz that requires mutual TLS. Checked at creation;
   * needs an https jwksUri. Give the same object to createIntrospectionCheck / createRevocationFeed.
   */
  tls?: GuardTlsOptions;
}

export interface VerifyOptions {
  /** Added to the guard-level requiredScopes. */
  requiredScopes?: readonly string[];
  /**
   * base64url SHA-256 thumbprint of the client certificate on this connection (RFC 8705). When the
   * token carries `cnf["x5t#S256"]`, it must be present and equal.
   */
  peerCertificateThumbprint?: string;
}

export interface GuardStats {
  cacheHits: number;
  cacheMisses: number;
  /** Full verifications (signature + claims) attempted. */
  signatureVerifications: number;
  cacheSize: number;
  jwksFetches: number;
  jwksFetchFailures: number;
  jwksKeys: number;
}

export interface Guard {
  verify(authorization: string | readonly string[] | undefined, opts?: VerifyOptions): Promise<VerifiedToken>;
  readonly realm: string;
  readonly issuer: string;
  stats(): GuardStats;
  /** Empty the verified-token cache. */
  clearCache(): void;
  /** Refetch the JWKS now (ignores the cooldown; single flight). Tokens of vanished kids leave the cache. */
  refreshKeys(): Promise<void>;
}

interface CacheEntry {
  readonly expiresAtMs: number;
  readonly claims: Readonly<AccessTokenClaims>;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly scopeSet: ReadonlySet<string>;
  readonly kid: string | undefined;
  readonly certThumbprint: string | undefined;
}

interface AcceptedHeader {
  readonly alg: string;
  readonly kid: string | undefined;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const MAX_ACCEPTED_HEADERS = 64;

function isLoopback(url: URL): boolean {
  const h = url.hostname;
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function isAccessTokenTyp(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase();
  return t === 'at+jwt' || t === 'application/at+jwt';
}

/** Freezes a JSON value (plain objects and arrays only, so for-in sees every member). */
function deepFreeze<T>(value: T): T {
  Object.freeze(value);
  for (const key in value) {
    const v = value[key];
    if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v);
  }
  return value;
}

function checkScopes(name: string, scopes: readonly string[] | undefined): readonly string[] {
  if (scopes === undefined) return [];
  if (!Array.isArray(scopes)) throw new TypeError(`${name} must be an array of scope strings`);
  for (const s of scopes) {
    if (typeof s !== 'string' || !SCOPE_TOKEN.test(s)) throw new TypeError(`${name}: invalid scope token ${JSON.stringify(s)}`);
  }
  return scopes as string[];
}

export function createGuard(options: GuardOptions): Guard {
  const { issuer } = options;
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer is required');
  const audience: string | string[] = typeof options.audience === 'string' ? options.audience : [...(options.audience ?? [])];
  if (audience.length === 0 || (Array.isArray(audience) && audience.some((a) => typeof a !== 'string' || a === ''))) {
    throw new TypeError('audience is required');
  }
  const algorithms = [...(options.algorithms ?? DEFAULT_ALGORITHMS)];
  if (algorithms.length === 0) throw new TypeError('algorithms must not be empty');
  for (const alg of algorithms) {
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none' || /^HS/i.test(alg)) {
      throw new TypeError(`algorithm ${JSON.stringify(alg)} is not allowed for access tokens`);
    }
    if (!SUPPORTED_ALGORITHMS.includes(alg)) throw new TypeError(`algorithm ${JSON.stringify(alg)} is not supported (${SUPPORTED_ALGORITHMS.join(', ')})`);
  }
  const algSet = new Set(algorithms);
  const clockTolerance = options.clockTolerance ?? 30;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new TypeError('clockTolerance must be a non-negative number of seconds');
  const claimRules = { issuer, audiences: typeof audience === 'string' ? [audience] : audience, clockTolerance };
  const guardScopes = checkScopes('requiredScopes', options.requiredScopes);
  const realm = options.realm ?? (typeof audience === 'string' ? audience : audience[0]!);
  const maxTokenLength = options.maxTokenLength ?? 8192;
  const jwksUrl = new URL(options.jwksUri ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`);
  if (jwksUrl.protocol !== 'https:') {
    if (jwksUrl.protocol !== 'http:') throw new TypeError('jwksUri must be an http(s) URL');
    if (!isLoopback(jwksUrl) && !options.allowInsecureJwksUri) {
      throw new TypeError('jwksUri must use https (set allowInsecureJwksUri to allow http)');
    }
  }
  const isRevoked = options.isRevoked;

  const cacheMaxEntries = options.cacheMaxEntries ?? 10_000;
  const cache = new TokenCache<CacheEntry>(cacheMaxEntries);
  const pending = new Map<string, Promise<CacheEntry>>();
  const acceptedHeaders = new Map<string, AcceptedHeader>();
  const counters = { cacheHits: 0, cacheMisses: 0, signatureVerifications: 0 };

  const jwks = new RemoteJwks({
    url: jwksUrl,
    transport: createTransport('jwksUri', jwksUrl, options.tls),
    cooldownMs: options.jwksCooldownMs ?? 30_000,
    maxAgeMs: options.jwksMaxAgeMs ?? 600_000,
    retryBackoffMs: options.jwksRetryBackoffMs ?? 5_000,
    fetchTimeoutMs: options.fetchTimeoutMs ?? 5_000,
    // A key that left the JWKS must stop validating cached tokens too.
    onKeySetChange: (kids) => cache.deleteWhere((e) => e.kid === undefined || !kids.has(e.kid)),
  });

  const fail = (status: GuardErrorStatus, code: GuardErrorCode | undefined, description: string, extra?: { scope?: readonly string[]; cause?: unknown }) =>
    new GuardError({ status, code, description, realm, ...extra });
  const invalidToken = (description: string, cause?: unknown) => fail(401, 'invalid_token', description, { cause });

  function mapKeyError(err: unknown): GuardError {
    if (err instanceof GuardError) return err;
    if (err instanceof JwksUnavailableError) return fail(503, 'temporarily_unavailable', 'token signing keys are temporarily unavailable', { cause: err });
    if (err instanceof NoMatchingKeyError) return invalidToken('unknown signing key', err);
    if (err instanceof AmbiguousKeyError) return invalidToken('ambiguous signing key', err);
    // Anything else: fail closed.
    return invalidToken('token verification failed', err);
  }

  /**
   * The alg and kid of an acceptable JOSE header; throws the GuardError otherwise. Tokens of one
   * issuer share a few distinct headers (one per signing key), so accepted ones are remembered by
   * their encoding: on the miss path, decoding them again costs more than the bare
   * verification's budget allows (issue 6). Bounded; a flood of distinct headers only empties it.
   */
  function acceptedHeader(encoded: string): AcceptedHeader {
    const known = acceptedHeaders.get(encoded);
    if (known) return known;
    // RFC 7515 §5.2 step 3: "Verify that the resulting octet sequence is a UTF-8-encoded
    // representation of a completely valid JSON object".
    const header = decodeJsonSegment(encoded);
    if (!header) throw invalidToken('malformed token');
    const { alg, kid } = header;
    // RFC 9068 §4: "The resource server MUST reject any JWT in which the value of "alg" is "none"."
    // Only the allow-list (never none or HS*) gets through; the alg then also picks the key.
    if (typeof alg !== 'string' || !algSet.has(alg)) throw invalidToken('signing algorithm not allowed');
    // RFC 9068 §4: "The resource server MUST verify that the "typ" header value is "at+jwt" or
    // "application/at+jwt" and reject tokens carrying any other value."
    if (!isAccessTokenTyp(header.typ)) throw invalidToken('token type is not at+jwt');
    // RFC 7515 §4.1.4: "Its value MUST be a case-sensitive string."
    if (kid !== undefined && typeof kid !== 'string') throw invalidToken('malformed token');
    // RFC 7515 §4.1.11: "If any of the listed extension Header Parameters are not understood and
    // supported by the recipient, then the JWS is invalid." This guard supports none.
    if (header.crit !== undefined) throw invalidToken('malformed token');
    const accepted: AcceptedHeader = { alg, kid };
    if (acceptedHeaders.size >= MAX_ACCEPTED_HEADERS) acceptedHeaders.clear();
    acceptedHeaders.set(encoded, accepted);
    return accepted;
  }

  /**
   * Full verification of a token not in the cache. Synchronous (no promise, no microtask) when the
   * current key set has the token's key, which is the common case; a promise only when the JWKS has
   * to be fetched, and then concurrent checks of the same token share it.
   */
  function verifyMiss(token: string): CacheEntry | Promise<CacheEntry> {
    const shared = pending.size === 0 ? undefined : pending.get(token);
    if (shared) return shared;
    if (token.length > maxTokenLength) throw invalidToken('token too large');
    // RFC 7515 §5.2 (compact serialization, base64url).
    const jws = splitCompactJws(token);
    if (!jws) throw invalidToken('malformed token');
    // Cheap rejections before any key lookup, so bad alg/typ never trigger a JWKS fetch.
    const { alg, kid } = acceptedHeader(jws.encodedHeader);

    counters.signatureVerifications++;
    let found: KeyObject | Promise<KeyObject>;
    try {
      found = jwks.keyFor(alg, kid);
    } catch (err) {
      throw mapKeyError(err);
    }
    if (!(found instanceof Promise)) return verifyWithKey(token, jws, alg, kid, found);
    const p = found
      .then(
        (key) => verifyWithKey(token, jws, alg, kid, key),
        (err: unknown) => {
          throw mapKeyError(err);
        },
      )
      .finally(() => pending.delete(token));
    pending.set(token, p);
    return p;
  }

  function verifyWithKey(token: string, jws: CompactJws, alg: string, kid: string | undefined, key: KeyObject): CacheEntry {
    // RFC 9068 §4: "The resource server MUST validate the signature of all incoming JWT access
    // tokens according to [RFC7515] using the algorithm specified in the JWT "alg" Header Parameter."
    if (!verifySignature(alg, key, jws.signingInput, jws.signature)) throw invalidToken('signature verification failed');

    // RFC 7519 §7.2 step 10: the JWT Claims Set must be "a completely valid JSON object".
    const payload = decodeJsonSegment(jws.encodedPayload);
    if (!payload) throw invalidToken('malformed token');
    const problem = claimsProblem(payload, claimRules, Date.now());
    if (problem !== undefined) throw invalidToken(problem);
    const claims = payload as AccessTokenClaims;

    const { client_id: clientId, scope, cnf, exp } = claims;
    let certThumbprint: string | undefined;
    if (cnf !== undefined) {
      if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw invalidToken('invalid "cnf" claim');
      const x5t = (cnf as Record<string, unknown>)['x5t#S256'];
      if (x5t !== undefined) {
        if (typeof x5t !== 'string' || x5t === '') throw invalidToken('invalid "cnf" claim');
        certThumbprint = x5t;
      }
    }
    const scopeSet = new Set<string>();
    if (scope) for (const s of scope.split(' ')) if (s !== '') scopeSet.add(s);
    const entry: CacheEntry = {
      expiresAtMs: exp * 1000,
      claims: deepFreeze(claims),
      clientId,
      scopes: Object.freeze([...scopeSet]),
      scopeSet,
      kid,
      certThumbprint,
    };
    // Only ever cached until exp (a token accepted within the clock tolerance after exp is not cached).
    if (cacheMaxEntries > 0) cache.set(token, entry, Date.now());
    return entry;
  }

  async function verify(authorization: string | readonly string[] | undefined, opts: VerifyOptions = {}): Promise<VerifiedToken> {
    const parsed = parseAuthorization(authorization);
    // RFC 6750 §3.1: "If the request lacks any authentication information (e.g., the client was
    // unaware that authentication is necessary or attempted using an unsupported authentication
    // method), the resource server SHOULD NOT include an error code or other error information."
    if (parsed.kind === 'missing' || parsed.kind === 'other-scheme') throw fail(401, undefined, 'bearer token required');
    if (parsed.kind === 'invalid') throw fail(400, 'invalid_request', parsed.reason);
    const token = parsed.token;

    // (With the cache disabled, skip the lookup: hashing a long token is a measurable part of a miss.)
    let entry = cacheMaxEntries > 0 ? cache.get(token, Date.now()) : undefined;
    if (entry) counters.cacheHits++;
    else {
      counters.cacheMisses++;
      const verified = verifyMiss(token);
      entry = verified instanceof Promise ? await verified : verified;
    }

    // Per-request checks, on cache hits too.
    if (entry.certThumbprint !== undefined) {
      const presented = opts.peerCertificateThumbprint;
      if (presented === undefined || !thumbprintsEqual(entry.certThumbprint, presented)) {
        throw invalidToken('token is bound to a different client certificate');
      }
    }
    if (isRevoked) {
      let revoked: boolean;
      try {
        revoked = await isRevoked(entry.claims, token);
      } catch (err) {
        throw fail(503, 'temporarily_unavailable', 'token revocation status is temporarily unavailable', { cause: err });
      }
      if (revoked) throw invalidToken('token revoked');
    }
    const callScopes = opts.requiredScopes === undefined ? [] : checkScopes('requiredScopes', opts.requiredScopes);
    const required = callScopes.length === 0 ? guardScopes : guardScopes.length === 0 ? callScopes : [...guardScopes, ...callScopes];
    const have = entry.scopeSet;
    if (!required.every((s) => have.has(s))) {
      const wanted = [...new Set(required)];
      throw fail(403, 'insufficient_scope', `token lacks required scope: ${wanted.filter((s) => !have.has(s)).join(' ')}`, { scope: wanted });
    }

    return {
      clientId: entry.clientId,
      scopes: [...entry.scopes],
      claims: entry.claims,
      expiresAt: new Date(entry.expiresAtMs),
    };
  }

  return {
    verify,
    realm,
    issuer,
    stats: () => {
      const j = jwks.stats();
      return { ...counters, cacheSize: cache.size, jwksFetches: j.fetches, jwksFetchFailures: j.fetchFailures, jwksKeys: j.keys };
    },
    clearCache: () => cache.clear(),
    refreshKeys: async () => {
      try {
        await jwks.reload();
      } catch (err) {
        throw mapKeyError(err);
      }
    },
  };
}
