/**
 * Resource-server side verification of RFC 9068 JWT access tokens issued by d1-authz.
 *
 *   const guard = createGuard({ issuer: 'https://authz.example', audience: 'https://api.example' });
 *   const auth = await guard.verify(req.headers.authorization, { requiredScopes: ['d1:read'] });
 *
 * verify() throws GuardError (400/401/403, or 503 when signing keys cannot be fetched) and returns
 * { clientId, scopes, claims, expiresAt } otherwise.
 */
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload, ProtectedHeaderParameters } from 'jose';
import { GuardError } from './errors.js';
import type { GuardErrorCode, GuardErrorStatus } from './errors.js';
import { parseAuthorization } from './header.js';
import { JwksUnavailableError, RemoteJwks } from './jwks.js';
import { TokenCache } from './token-cache.js';
import { thumbprintsEqual } from './thumbprint.js';

export const DEFAULT_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'RS256', 'PS256', 'EdDSA']);

/** RFC 9068 §2.2 claims (plus `cnf` from RFC 8705). Frozen when handed out. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  client_id: string;
  scope?: string;
  jti?: string;
  cnf?: { 'x5t#S256'?: string; [key: string]: unknown };
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
  /** JWS alg allow-list. Default ES256, RS256, PS256, EdDSA. `none` and HS* are refused. */
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

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const REQUIRED_CLAIMS = ['iss', 'aud', 'exp', 'iat', 'sub', 'client_id'];

function isLoopback(url: URL): boolean {
  const h = url.hostname;
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function isAccessTokenTyp(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase();
  return t === 'at+jwt' || t === 'application/at+jwt';
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function checkScopes(name: string, scopes: readonly string[] | undefined): readonly string[] {
  if (scopes === undefined) return [];
  if (!Array.isArray(scopes)) throw new TypeError(`${name} must be an array of scope strings`);
  for (const s of scopes) {
    if (typeof s !== 'string' || !SCOPE_TOKEN.test(s)) throw new TypeError(`${name}: invalid scope token ${JSON.stringify(s)}`);
  }
  return scopes;
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
  }
  const algSet = new Set(algorithms);
  const clockTolerance = options.clockTolerance ?? 30;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0) throw new TypeError('clockTolerance must be a non-negative number of seconds');
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

  const cache = new TokenCache<CacheEntry>(options.cacheMaxEntries ?? 10_000);
  const pending = new Map<string, Promise<CacheEntry>>();
  const counters = { cacheHits: 0, cacheMisses: 0, signatureVerifications: 0 };

  const jwks = new RemoteJwks({
    url: jwksUrl,
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

  function mapVerifyError(err: unknown): GuardError {
    if (err instanceof GuardError) return err;
    if (err instanceof JwksUnavailableError) return fail(503, 'temporarily_unavailable', 'token signing keys are temporarily unavailable', { cause: err });
    if (err instanceof errors.JWTExpired) return invalidToken('token expired', err);
    if (err instanceof errors.JWTClaimValidationFailed) {
      switch (err.claim) {
        case 'nbf': return invalidToken('token not yet valid', err);
        case 'iss': return invalidToken(err.reason === 'missing' ? 'missing "iss" claim' : 'unexpected token issuer', err);
        case 'aud': return invalidToken(err.reason === 'missing' ? 'missing "aud" claim' : 'token not intended for this audience', err);
        case 'typ': return invalidToken('token type is not at+jwt', err);
        default:
          return invalidToken(err.reason === 'missing' ? `missing "${err.claim}" claim` : `invalid "${err.claim}" claim`, err);
      }
    }
    if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return invalidToken('signing algorithm not allowed', err);
    if (err instanceof errors.JWSSignatureVerificationFailed) return invalidToken('signature verification failed', err);
    if (err instanceof errors.JWKSNoMatchingKey) return invalidToken('unknown signing key', err);
    if (err instanceof errors.JWKSMultipleMatchingKeys) return invalidToken('ambiguous signing key', err);
    if (err instanceof errors.JOSEError) return invalidToken('malformed token', err);
    // Anything else (e.g. a TypeError on hostile input): fail closed.
    return invalidToken('token verification failed', err);
  }

  async function verifyFully(token: string): Promise<CacheEntry> {
    if (token.length > maxTokenLength) throw invalidToken('token too large');
    if (token.split('.').length !== 3) throw invalidToken('malformed token');
    // Cheap rejections before any key lookup, so bad alg/typ never trigger a JWKS fetch.
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch (err) {
      throw invalidToken('malformed token', err);
    }
    if (typeof header.alg !== 'string' || !algSet.has(header.alg)) throw invalidToken('signing algorithm not allowed');
    if (!isAccessTokenTyp(header.typ)) throw invalidToken('token type is not at+jwt');
    if (header.kid !== undefined && typeof header.kid !== 'string') throw invalidToken('malformed token');

    counters.signatureVerifications++;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks.getKey, {
        issuer,
        audience,
        algorithms,
        clockTolerance,
        typ: 'at+jwt',
        requiredClaims: REQUIRED_CLAIMS,
      }));
    } catch (err) {
      throw mapVerifyError(err);
    }

    const { client_id: clientId, sub, scope, cnf, iat, exp } = payload;
    if (typeof clientId !== 'string' || clientId === '') throw invalidToken('invalid "client_id" claim');
    if (typeof sub !== 'string' || sub === '') throw invalidToken('invalid "sub" claim');
    if (typeof exp !== 'number' || typeof iat !== 'number') throw invalidToken('invalid "exp"/"iat" claim');
    if (iat > Date.now() / 1000 + clockTolerance) throw invalidToken('token issued in the future');
    if (scope !== undefined && typeof scope !== 'string') throw invalidToken('invalid "scope" claim');
    let certThumbprint: string | undefined;
    if (cnf !== undefined) {
      if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw invalidToken('invalid "cnf" claim');
      const x5t = (cnf as Record<string, unknown>)['x5t#S256'];
      if (x5t !== undefined) {
        if (typeof x5t !== 'string' || x5t === '') throw invalidToken('invalid "cnf" claim');
        certThumbprint = x5t;
      }
    }
    const scopes = [...new Set((scope ?? '').split(' ').filter((s) => s !== ''))];
    const entry: CacheEntry = {
      expiresAtMs: exp * 1000,
      claims: deepFreeze(payload as AccessTokenClaims),
      clientId,
      scopes: Object.freeze(scopes),
      scopeSet: new Set(scopes),
      kid: header.kid,
      certThumbprint,
    };
    // Only ever cached until exp (a token accepted within the clock tolerance after exp is not cached).
    cache.set(token, entry, Date.now());
    return entry;
  }

  function verifyDeduplicated(token: string): Promise<CacheEntry> {
    let p = pending.get(token);
    if (!p) {
      p = verifyFully(token).finally(() => pending.delete(token));
      pending.set(token, p);
    }
    return p;
  }

  async function verify(authorization: string | readonly string[] | undefined, opts: VerifyOptions = {}): Promise<VerifiedToken> {
    const parsed = parseAuthorization(authorization);
    if (parsed.kind === 'missing') throw fail(401, undefined, 'bearer token required');
    if (parsed.kind === 'invalid') throw fail(400, 'invalid_request', parsed.reason);
    const token = parsed.token;

    let entry = cache.get(token, Date.now());
    if (entry) counters.cacheHits++;
    else {
      counters.cacheMisses++;
      entry = await verifyDeduplicated(token);
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
    const required = callScopes.length === 0 ? guardScopes : [...new Set([...guardScopes, ...callScopes])];
    if (required.length > 0) {
      const have = entry.scopeSet;
      if (!required.every((s) => have.has(s))) {
        throw fail(403, 'insufficient_scope', `token lacks required scope: ${required.filter((s) => !have.has(s)).join(' ')}`, { scope: required });
      }
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
        throw mapVerifyError(err);
      }
    },
  };
}
