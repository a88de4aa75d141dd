/**
 * Verifies this server's own access tokens against its key ring (the published keys), with no
 * HTTP round trip: the counterpart of JwtSigner, used by introspection and revocation. Only what
 * the issuer writes is accepted: compact JWS, typ at+jwt, a known kid whose alg matches, our `iss`.
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { AccessTokenClaims } from '../../model/access-token-claims.js';

export type TokenRejection = 'malformed' | 'unknown_key' | 'bad_signature' | 'wrong_issuer' | 'expired';

export type TokenVerification = { readonly ok: true; readonly claims: AccessTokenClaims; readonly kid: string } | { readonly ok: false; readonly reason: TokenRejection };

interface PublicKey {
  readonly alg: string;
  readonly check: (input: Buffer, signature: Buffer) => boolean;
}

const MAX_TOKEN_LENGTH = 8192;
const B64URL = /^[A-Za-z0-9_-]+$/;

function checker(alg: string, key: KeyObject): PublicKey['check'] | undefined {
  switch (alg) {
    case 'ES256':
      // JWS carries the raw r||s form (RFC 7518 §3.4): exactly 64 bytes for P-256.
      return (input, sig) => sig.length === 64 && verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig);
    case 'RS256':
      return (input, sig) => verify('sha256', input, key, sig);
    case 'PS256':
      return (input, sig) => verify('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    case 'EdDSA':
      return (input, sig) => verify(null, input, key, sig);
    default:
      return undefined;
  }
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export class TokenVerifier {
  private jwksSource = '';
  private keys = new Map<string, PublicKey>();

  constructor(
    /** The published JWKS, pre-serialised (KeyRing.jwks): re-parsed only when it changes. */
    private readonly jwks: () => string,
    private readonly issuer: string,
    private readonly now: () => number = Date.now,
  ) {}

  verify(token: string): TokenVerification {
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return { ok: false, reason: 'malformed' };
    const [h, p, s] = parts as [string, string, string];
    const header = parseJson(h);
    if (!header || header.typ !== 'at+jwt' || !isString(header.kid) || !isString(header.alg)) return { ok: false, reason: 'malformed' };
    const key = this.key(header.kid);
    if (!key) return { ok: false, reason: 'unknown_key' };
    // The alg comes from our key, never from the token: a header naming another alg is refused.
    if (header.alg !== key.alg) return { ok: false, reason: 'bad_signature' };
    let valid: boolean;
    try {
      valid = key.check(Buffer.from(`${h}.${p}`), Buffer.from(s, 'base64url'));
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: 'bad_signature' };
    const claims = parseJson(p);
    if (!claims || !isClaims(claims)) return { ok: false, reason: 'malformed' };
    if (claims.iss !== this.issuer) return { ok: false, reason: 'wrong_issuer' };
    if (claims.exp * 1000 <= this.now()) return { ok: false, reason: 'expired' };
    return { ok: true, claims, kid: header.kid };
  }

  private key(kid: string): PublicKey | undefined {
    const source = this.jwks();
    if (source !== this.jwksSource) {
      const next = new Map<string, PublicKey>();
      for (const jwk of (JSON.parse(source) as { keys: Record<string, unknown>[] }).keys) {
        if (!isString(jwk.kid) || !isString(jwk.alg)) continue;
        const known = this.keys.get(jwk.kid);
        if (known) {
          next.set(jwk.kid, known);
          continue;
        }
        const check = checker(jwk.alg, createPublicKey({ key: jwk as never, format: 'jwk' }));
        if (check) next.set(jwk.kid, { alg: jwk.alg, check });
      }
      this.keys = next;
      this.jwksSource = source;
    }
    return this.keys.get(kid);
  }
}

function isClaims(c: Record<string, unknown>): c is Record<string, unknown> & AccessTokenClaims {
  const audOk = isString(c.aud) || (Array.isArray(c.aud) && c.aud.length > 0 && c.aud.every(isString));
  return (
    isString(c.iss) &&
    isString(c.sub) &&
    isString(c.client_id) &&
    isString(c.jti) &&
    isTime(c.iat) &&
    isTime(c.exp) &&
    audOk &&
    (c.scope === undefined || typeof c.scope === 'string') &&
    (c.cnf === undefined || (c.cnf !== null && typeof c.cnf === 'object' && !Array.isArray(c.cnf)))
  );
}
