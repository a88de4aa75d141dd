import { createHash } from 'node:crypto';

/** RFC 7638 JWK thumbprint, used as the kid: stable, derived from the public key, collision-free. */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
