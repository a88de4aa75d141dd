import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '../../config/schema.js';

export interface GeneratedKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: Record<string, unknown>;
  readonly privatePem: string;
}

function keyPair(alg: SigningAlgorithm): { publicKey: KeyObject; privateKey: KeyObject } {
  switch (alg) {
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'RS256':
    case 'PS256':
      return generateKeyPairSync('rsa', { modulusLength: 3072 });
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
  }
}

/** RFC 7638 JWK thumbprint, used as the kid: stable, derived, collision-free. */
function thumbprint(jwk: Record<string, unknown>): string {
  const members =
    jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

export function generateSigningKey(alg: SigningAlgorithm): GeneratedKey {
  const { publicKey, privateKey } = keyPair(alg);
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const kid = thumbprint(jwk);
  return {
    kid,
    alg,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}
