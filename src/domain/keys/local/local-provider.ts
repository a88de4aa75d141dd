/**
 * The `local` key provider: keys generated in this process and kept in the store sealed under the
 * master key (AES-256-GCM, key-encryption.ts). The only part of the server that reads the master key.
 * During a master-key change a key sealed under the previous master key opens too; `rewrap` re-seals
 * one under the current key (`d1-authz master-key rotate`).
 */
import { createPrivateKey } from 'node:crypto';
import type { SigningAlgorithm } from '../../../model/signing.js';
import { KeyProviderError, type GeneratedKey, type KeyProvider, type Signer, type StoredKey } from '../signer.js';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption.js';
import { generateLocalKey } from './key-generation.js';
import { LocalSigner } from './local-signer.js';

export interface MasterKeys {
  readonly current: Buffer;
  /** The master key being replaced; accepted for opening only. */
  readonly previous?: Buffer | undefined;
}

export class LocalKeyProvider implements KeyProvider {
  readonly name = 'local';

  constructor(private readonly masterKeys: MasterKeys) {}

  get hasPreviousMasterKey(): boolean {
    return this.masterKeys.previous !== undefined;
  }

  async generate(alg: SigningAlgorithm): Promise<GeneratedKey> {
    const key = generateLocalKey(alg);
    return { kid: key.kid, alg, publicJwk: key.publicJwk, custody: { provider: 'local', privateKeyEnc: encryptPrivateKey(this.masterKeys.current, key.kid, key.privatePem) } };
  }

  async open(key: StoredKey): Promise<Signer> {
    if (key.custody.provider !== 'local') throw new KeyProviderError(`key ${key.kid} is held by the ${key.custody.provider} provider`);
    return new LocalSigner(key.kid, key.alg, key.publicJwk, createPrivateKey(this.unseal(key.kid, key.custody.privateKeyEnc)));
  }

  /** The sealed form of the same private key under the current master key. */
  rewrap(kid: string, sealed: string): string {
    return encryptPrivateKey(this.masterKeys.current, kid, this.unseal(kid, sealed));
  }

  /** Deleting the row deletes the sealed key: nothing else holds it. */
  async destroy(): Promise<void> {}

  ready(): boolean {
    return true;
  }

  async close(): Promise<void> {}

  private unseal(kid: string, sealed: string): string {
    try {
      return decryptPrivateKey(this.masterKeys.current, kid, sealed);
    } catch (err) {
      if (!this.masterKeys.previous) throw err;
      return decryptPrivateKey(this.masterKeys.previous, kid, sealed);
    }
  }
}
