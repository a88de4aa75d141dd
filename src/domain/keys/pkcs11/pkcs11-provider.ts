/**
 * The `pkcs11` key provider: signing keys generated and used inside an HSM token (Thales Luna,
 * Entrust nShield, AWS CloudHSM, YubiHSM, SoftHSM2 in tests). The store keeps the public JWK and the
 * key's CKA_ID; the private key never leaves the token. Every key object is labelled with its kid,
 * and generated keys also carry the kid as CKA_ID.
 *
 * Signing: ES256 with CKM_ECDSA over the SHA-256 digest (PKCS#11's raw r||s output is already the
 * JWS form, RFC 7518 §3.4), RS256 with CKM_SHA256_RSA_PKCS, PS256 with CKM_SHA256_RSA_PKCS_PSS
 * (MGF1-SHA256, 32-byte salt). The signature runs on libuv's pool (the binding's async C_Sign);
 * C_SignInit runs on the event loop, a local call for a software or PCIe token.
 */
import { createHash, randomBytes } from 'node:crypto';
import pkcs11js from './binding.js';
import type * as Pkcs11Types from 'pkcs11js';
import type { SigningAlgorithm } from '../../../model/signing.js';
import { jwkThumbprint } from '../jwk-thumbprint.js';
import { KeyProviderError, KeyUnavailableError, type GeneratedKey, type KeyProvider, type Signer, type StoredKey } from '../signer.js';
import { attribute, booleanAttribute, findObjects, findPrivateKey, keyPairTemplates, publicJwkOf } from './pkcs11-key-objects.js';
import { describe, Pkcs11SessionPool, type Handle, type PoolEvents } from './pkcs11-session-pool.js';
import type { Pkcs11Settings } from './pkcs11-settings.js';

const pss = (): Pkcs11Types.Mechanism => ({ mechanism: pkcs11js.CKM_SHA256_RSA_PKCS_PSS, parameter: { type: pkcs11js.CK_PARAMS_RSA_PSS, hashAlg: pkcs11js.CKM_SHA256, mgf: pkcs11js.CKG_MGF1_SHA256, saltLen: 32 } } as Pkcs11Types.Mechanism);

function mechanism(alg: SigningAlgorithm): Pkcs11Types.Mechanism {
  switch (alg) {
    case 'ES256':
      return { mechanism: pkcs11js.CKM_ECDSA };
    case 'RS256':
      return { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS };
    case 'PS256':
      return pss();
    case 'EdDSA':
      throw new KeyProviderError('the pkcs11 provider signs ES256, RS256 or PS256');
  }
}

class Pkcs11Signer implements Signer {
  private handle: Handle | undefined;
  private handleGeneration = -1;
  private readonly mechanism: Pkcs11Types.Mechanism;

  constructor(
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    readonly publicJwk: Readonly<Record<string, unknown>>,
    private readonly id: Buffer,
    private readonly pool: Pkcs11SessionPool,
  ) {
    this.mechanism = mechanism(alg);
  }

  sign(input: Buffer): Promise<Buffer> {
    // CKM_ECDSA signs a digest the caller computes; the RSA mechanisms hash inside the token.
    const data = this.alg === 'ES256' ? createHash('sha256').update(input).digest() : input;
    return this.pool.run(async (lib, session, generation) => {
      if (this.handleGeneration !== generation || this.handle === undefined) {
        this.handle = findPrivateKey(lib, session, this.id);
        this.handleGeneration = generation;
        if (this.handle === undefined) throw new KeyUnavailableError(`key ${this.kid} (CKA_ID ${this.id.toString('hex')}) is not in the token`);
      }
      lib.C_SignInit(session, this.mechanism, this.handle);
      return lib.C_SignAsync(session, data, Buffer.alloc(this.alg === 'ES256' ? 64 : 1024));
    });
  }
}

export interface ImportedKeyChoice {
  /** RSA keys sign RS256 or PS256; EC keys ES256 whatever is asked. */
  readonly rsaAlg: 'RS256' | 'PS256';
}

export class Pkcs11KeyProvider implements KeyProvider {
  readonly name = 'pkcs11';

  private constructor(private readonly pool: Pkcs11SessionPool) {}

  /** Connects at start-up: an HSM that cannot be reached, or refuses the PIN, stops start-up with the reason. */
  static open(settings: Pkcs11Settings, sessions: number, events: PoolEvents): Pkcs11KeyProvider {
    return new Pkcs11KeyProvider(Pkcs11SessionPool.open(settings, sessions, events));
  }

  async generate(alg: SigningAlgorithm): Promise<GeneratedKey> {
    return this.admin('generating a key', async (lib, session) => {
      const provisionalId = randomBytes(20);
      const t = keyPairTemplates(alg, provisionalId, 'd1-authz-new');
      const pair = await lib.C_GenerateKeyPairAsync(session, t.mechanism, t.publicKey, t.privateKey);
      const { jwk } = publicJwkOf(lib, session, pair.publicKey);
      const kid = jwkThumbprint(jwk);
      // The kid is known only now (it is the public key's thumbprint): label and identify both objects by it.
      let id = Buffer.from(kid);
      try {
        for (const object of [pair.privateKey, pair.publicKey]) lib.C_SetAttributeValue(session, object, [{ type: pkcs11js.CKA_ID, value: id }, { type: pkcs11js.CKA_LABEL, value: kid }]);
      } catch {
        // A module that does not let CKA_ID change keeps the random one (the store records it); the label still names the kid.
        id = provisionalId;
        for (const object of [pair.privateKey, pair.publicKey]) lib.C_SetAttributeValue(session, object, [{ type: pkcs11js.CKA_LABEL, value: kid }]);
      }
      return { kid, alg, publicJwk: { ...jwk, kid, alg, use: 'sig' }, custody: { provider: 'pkcs11', hsmKeyId: id.toString('hex') } };
    });
  }

  /**
   * Adopts a key pair made by the bank's own key ceremony, found by its label (`keys import-hsm`).
   * Only a signing key that the token keeps sensitive and non-extractable is accepted.
   */
  async importByLabel(label: string, choice: ImportedKeyChoice): Promise<GeneratedKey> {
    return this.admin('importing a key', async (lib, session) => {
      const privates = findObjects(lib, session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_LABEL, value: label },
      ]);
      if (privates.length !== 1) throw new KeyProviderError(`expected one private key labelled "${label}" in the token, found ${privates.length}`);
      const priv = privates[0]!;
      if (!booleanAttribute(lib, session, priv, pkcs11js.CKA_SIGN)) throw new KeyProviderError(`the key labelled "${label}" may not sign (CKA_SIGN is false)`);
      if (!booleanAttribute(lib, session, priv, pkcs11js.CKA_SENSITIVE) || booleanAttribute(lib, session, priv, pkcs11js.CKA_EXTRACTABLE)) {
        throw new KeyProviderError(`the key labelled "${label}" is extractable or not sensitive; d1-authz adopts only keys the token never reveals`);
      }
      const id = attribute(lib, session, priv, pkcs11js.CKA_ID);
      if (id.length === 0) throw new KeyProviderError(`the key labelled "${label}" has no CKA_ID`);
      const publics = findObjects(lib, session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
        { type: pkcs11js.CKA_ID, value: id },
      ]);
      if (publics.length !== 1) throw new KeyProviderError(`expected one public key with the CKA_ID of "${label}", found ${publics.length}`);
      const { jwk, kind } = publicJwkOf(lib, session, publics[0]!);
      const alg: SigningAlgorithm = kind === 'EC' ? 'ES256' : choice.rsaAlg;
      const kid = jwkThumbprint(jwk);
      return { kid, alg, publicJwk: { ...jwk, kid, alg, use: 'sig' }, custody: { provider: 'pkcs11', hsmKeyId: id.toString('hex') } };
    });
  }

  async open(key: StoredKey): Promise<Signer> {
    if (key.custody.provider !== 'pkcs11') throw new KeyProviderError(`key ${key.kid} is held by the ${key.custody.provider} provider`);
    // No HSM call: the signer finds its object on first use, so keys load while the HSM is away too.
    return new Pkcs11Signer(key.kid, key.alg, key.publicJwk, Buffer.from(key.custody.hsmKeyId, 'hex'), this.pool);
  }

  async destroy(key: StoredKey): Promise<void> {
    if (key.custody.provider !== 'pkcs11') return;
    const id = Buffer.from(key.custody.hsmKeyId, 'hex');
    await this.admin('destroying a key', (lib, session) => {
      for (const object of findObjects(lib, session, [{ type: pkcs11js.CKA_ID, value: id }], 16)) lib.C_DestroyObject(session, object);
    });
  }

  ready(): boolean {
    return this.pool.ready;
  }

  async close(): Promise<void> {
    this.pool.close();
  }

  /** Admin operations fail with the reason (a CLI message), not as "retry later". */
  private async admin<T>(what: string, fn: (lib: Pkcs11Types.PKCS11, session: Handle) => T | Promise<T>): Promise<T> {
    try {
      return await this.pool.run((lib, session) => fn(lib, session));
    } catch (err) {
      if (err instanceof KeyProviderError) throw err;
      throw new KeyProviderError(`HSM: ${what} failed: ${describe(err)}`);
    }
  }
}
