/**
 * Compact JWS parsing, JWK import and signature verification on node:crypto, for the guard.
 *
 * Why not jose: jose 6 verifies through WebCrypto only, which on Node 20 costs ~1.7x a synchronous
 * crypto.verify on a KeyObject, and adds its own per-token layers (async key resolution, key-usage
 * checks, copies of the header and payload); the guard's cache-miss path has to stay within 1.2x of
 * a bare verify (issue 6).
 */
import { constants, createPublicKey, verify } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';

/** What verifySignature implements. The guard's `algorithms` option must be a subset. */
export const SUPPORTED_ALGORITHMS: readonly string[] = Object.freeze(['ES256', 'RS256', 'PS256', 'EdDSA']);

export interface CompactJws {
  /** The JOSE header segment, still encoded (see decodeJsonSegment). */
  readonly encodedHeader: string;
  /** The payload segment, still encoded: decoded only once the signature holds. */
  readonly encodedPayload: string;
  /** ASCII bytes of `BASE64URL(header) '.' BASE64URL(payload)`. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

// RFC 7515 §7.1: "BASE64URL(UTF8(JWS Protected Header)) || '.' || BASE64URL(JWS Payload) || '.' ||
// BASE64URL(JWS Signature)". Buffer's base64url decoder skips characters outside the alphabet, so
// the alphabet is enforced here; empty segments are refused (an access token has all three).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * RFC 7515 §5.2 steps 2-3: base64url-decode and "Verify that the resulting octet sequence is a
 * UTF-8-encoded representation of a completely valid JSON object". undefined otherwise.
 */
export function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(segment, 'base64url')));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Splits a compact JWS; undefined unless it is three non-empty base64url segments. */
export function splitCompactJws(token: string): CompactJws | undefined {
  if (!COMPACT_JWS.test(token)) return undefined;
  const dot1 = token.indexOf('.');
  const dot2 = token.lastIndexOf('.');
  return {
    encodedHeader: token.slice(0, dot1),
    encodedPayload: token.slice(dot1 + 1, dot2),
    signingInput: Buffer.from(token.slice(0, dot2), 'latin1'),
    signature: Buffer.from(token.slice(dot2 + 1), 'base64url'),
  };
}

export interface VerificationKey {
  /** undefined: the JWK has no `kid` (it can only match a token without one). */
  readonly kid: string | undefined;
  /** The token algs this key may verify (kty/crv/alg of the JWK, RSA size). Never empty. */
  readonly algs: ReadonlySet<string>;
  readonly key: KeyObject;
}

// RFC 7517 §9.2 / RFC 7518 §6: members that only a private (or symmetric) key has. A JWKS is
// published; one carrying any of these is misconfigured and such a key is not used.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Imports one JWK of a JWKS as a public KeyObject, or returns undefined when it cannot verify any
 * supported alg (the guard then treats it as absent: "unknown signing key").
 */
export function importVerificationKey(jwk: Record<string, unknown>): VerificationKey | undefined {
  const { kty, crv, alg, use, kid } = jwk;
  const keyOps = jwk['key_ops'];
  // RFC 7517 §4.2: "Values defined by this specification are: "sig" (signature) "enc" (encryption)".
  if (use !== undefined && use !== 'sig') return undefined;
  // RFC 7517 §4.3: key_ops lists the operations the key is for; "Duplicate key operation values
  // MUST NOT be present in the array." (jose's rule: it must include "verify").
  if (keyOps !== undefined) {
    if (!Array.isArray(keyOps) || !keyOps.includes('verify') || new Set(keyOps).size !== keyOps.length) return undefined;
  }
  // RFC 7517 §4.5: "The "kid" value is a case-sensitive string."
  if (kid !== undefined && typeof kid !== 'string') return undefined;
  if (PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined)) return undefined;

  let algs: string[];
  if (kty === 'EC' && crv === 'P-256') algs = ['ES256'];
  else if (kty === 'RSA') algs = ['RS256', 'PS256'];
  else if (kty === 'OKP' && crv === 'Ed25519') algs = ['EdDSA'];
  else return undefined;
  // RFC 7517 §4.4: "The "alg" (algorithm) parameter identifies the algorithm intended for use with
  // the key." A key published for another alg does not verify this one.
  if (alg !== undefined) algs = algs.filter((a) => a === alg);
  if (algs.length === 0) return undefined;

  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (kty) {
    case 'EC':
      if (key.asymmetricKeyType !== 'ec' || details.namedCurve !== 'prime256v1') return undefined;
      break;
    case 'RSA':
      // RFC 7518 §3.3 and §3.5: "A key of size 2048 bits or larger MUST be used with these algorithms."
      if (key.asymmetricKeyType !== 'rsa' || (details.modulusLength ?? 0) < 2048) return undefined;
      break;
    default:
      if (key.asymmetricKeyType !== 'ed25519') return undefined;
  }
  return { kid, algs: new Set(algs), key };
}

/**
 * The JWS signature check for `alg` (already on the allow-list, and one of key.algs). Never throws:
 * an input OpenSSL refuses (wrong length, bad encoding) is simply not a valid signature.
 *
 * (Same per-alg calls as `checker` in src/domain/tokens/token-verifier.ts; not shared because the
 * guard is published on its own as d1-authz/guard and imports nothing outside src/guard.)
 */
export function verifySignature(alg: string, key: KeyObject, signingInput: Buffer, signature: Buffer): boolean {
  try {
    switch (alg) {
      case 'ES256':
        // RFC 7518 §3.4: R and S, 32 octets each; "The resulting 64-octet sequence is the JWS
        // Signature value." (not DER, hence ieee-p1363).
        return signature.length === 64 && verify('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'RS256':
        return verify('sha256', signingInput, key, signature);
      case 'PS256':
        // RFC 7518 §3.5: "The size of the salt value is the same size as the hash function output."
        return verify('sha256', signingInput, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
      case 'EdDSA':
        // RFC 8037 §3.1: Ed25519 signs the message itself (no separate hash): 64-octet signature.
        return signature.length === 64 && verify(null, signingInput, key, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
