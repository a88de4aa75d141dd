import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '../../../model/signing.js';
import { jwkThumbprint } from '../jwk-thumbprint.js';

export interface LocalKeyMaterial {
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

export function generateLocalKey(alg: SigningAlgorithm): LocalKeyMaterial {
  const { publicKey, privateKey } = keyPair(alg);
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  const kid = jwkThumbprint(jwk);
  return {
    kid,
    alg,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}
