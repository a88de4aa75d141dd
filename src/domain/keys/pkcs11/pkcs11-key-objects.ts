/**
 * Key objects in the token: the templates d1-authz generates with, finding a key by CKA_ID or label,
 * and the public JWK read back from the token's public attributes. The private key is generated with
 * CKA_SENSITIVE=true and CKA_EXTRACTABLE=false: the token never reveals it, not even wrapped.
 */
import pkcs11js from './binding.js';
import type * as Pkcs11Types from 'pkcs11js';
import type { SigningAlgorithm } from '../../../model/signing.js';
import { KeyProviderError } from '../signer.js';
import type { Handle, Pkcs11 } from './pkcs11-session-pool.js';

/** DER of the OID of P-256 (prime256v1, 1.2.840.10045.3.1.7): CKA_EC_PARAMS of an ES256 key. */
export const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const RSA_BITS = 3072;
const MIN_RSA_BITS = 2048;

export function keyPairTemplates(alg: SigningAlgorithm, id: Buffer, label: string): { mechanism: Pkcs11Types.Mechanism; publicKey: Pkcs11Types.Template; privateKey: Pkcs11Types.Template } {
  const common = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ID, value: id },
    { type: pkcs11js.CKA_LABEL, value: label },
  ];
  const privateKey = [
    ...common,
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
  const publicCommon = [...common, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_ENCRYPT, value: false }, { type: pkcs11js.CKA_WRAP, value: false }];
  switch (alg) {
    case 'ES256':
      return { mechanism: { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN }, publicKey: [...publicCommon, { type: pkcs11js.CKA_EC_PARAMS, value: P256_PARAMS }], privateKey };
    case 'RS256':
    case 'PS256':
      return {
        mechanism: { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
        publicKey: [...publicCommon, { type: pkcs11js.CKA_MODULUS_BITS, value: RSA_BITS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }],
        privateKey,
      };
    case 'EdDSA':
      throw new KeyProviderError('the pkcs11 provider signs ES256, RS256 or PS256');
  }
}

export function findObjects(lib: Pkcs11, session: Handle, template: Pkcs11Types.Template, max = 10): Handle[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, max);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

export function findPrivateKey(lib: Pkcs11, session: Handle, id: Buffer): Handle | undefined {
  return findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_ID, value: id },
  ])[0];
}

const attribute = (lib: Pkcs11, session: Handle, object: Handle, type: number): Buffer => lib.C_GetAttributeValue(session, object, [{ type }])[0]!.value;

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point; some modules return the bare point. */
function ecPoint(value: Buffer): Buffer {
  if (value.length === 65 && value[0] === 0x04) return value;
  if (value.length === 67 && value[0] === 0x04 && value[1] === 65 && value[2] === 0x04) return value.subarray(2);
  throw new KeyProviderError('the EC public key is not an uncompressed P-256 point');
}

const unsigned = (b: Buffer) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

/** The public JWK (kty members only) of a key pair in the token, read from its public object. */
export function publicJwkOf(lib: Pkcs11, session: Handle, publicKey: Handle): { jwk: Record<string, unknown>; kind: 'EC' | 'RSA' } {
  const keyType = attribute(lib, session, publicKey, pkcs11js.CKA_KEY_TYPE).readUIntLE(0, 4);
  if (keyType === pkcs11js.CKK_EC) {
    if (!attribute(lib, session, publicKey, pkcs11js.CKA_EC_PARAMS).equals(P256_PARAMS)) throw new KeyProviderError('the EC key is not on P-256 (ES256 needs P-256)');
    const point = ecPoint(attribute(lib, session, publicKey, pkcs11js.CKA_EC_POINT));
    return { kind: 'EC', jwk: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') } };
  }
  if (keyType === pkcs11js.CKK_RSA) {
    const n = unsigned(attribute(lib, session, publicKey, pkcs11js.CKA_MODULUS));
    if (n.length * 8 < MIN_RSA_BITS) throw new KeyProviderError(`the RSA key has ${n.length * 8} bits; at least ${MIN_RSA_BITS} are required`);
    const e = unsigned(attribute(lib, session, publicKey, pkcs11js.CKA_PUBLIC_EXPONENT));
    return { kind: 'RSA', jwk: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') } };
  }
  throw new KeyProviderError(`key type ${keyType} is not EC or RSA`);
}

export function booleanAttribute(lib: Pkcs11, session: Handle, object: Handle, type: number): boolean {
  const value = attribute(lib, session, object, type);
  return value.length > 0 && value[0] !== 0;
}

export { attribute };
