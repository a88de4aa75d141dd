/**
 * The providers of one process: the one that generates new keys (D1AUTHZ_KEY_PROVIDER) and those that
 * can open existing ones. A node on the pkcs11 provider that also has a master key still opens the
 * local keys made before the switch; without one it publishes them (verification needs only the
 * public key) but cannot sign with them.
 */
import type { SigningAlgorithm } from '../../model/signing.js';
import type { NewSigningKeyRow, SigningKeyRow } from '../../store/key-repository.js';
import { KeyProviderError, type GeneratedKey, type KeyCustody, type KeyProvider, type KeyProviderName, type Signer, type StoredKey } from './signer.js';

export class KeyProviders {
  private readonly byName = new Map<string, KeyProvider>();

  constructor(
    /** Generates every new key. */
    readonly active: KeyProvider,
    openOnly: readonly KeyProvider[] = [],
  ) {
    for (const p of [active, ...openOnly]) this.byName.set(p.name, p);
  }

  generate(alg: SigningAlgorithm): Promise<GeneratedKey> {
    return this.active.generate(alg);
  }

  get(name: KeyProviderName): KeyProvider | undefined {
    return this.byName.get(name);
  }

  open(row: SigningKeyRow): Promise<Signer> {
    return this.of(row).open(storedKey(row));
  }

  destroy(row: SigningKeyRow): Promise<void> {
    return this.of(row).destroy(storedKey(row));
  }

  async ready(): Promise<boolean> {
    return this.active.ready();
  }

  async close(): Promise<void> {
    for (const p of this.byName.values()) await p.close();
  }

  private of(row: SigningKeyRow): KeyProvider {
    const provider = this.byName.get(row.provider);
    if (!provider) throw new KeyProviderError(`key ${row.kid} is held by the ${row.provider} provider, which this node does not have`);
    return provider;
  }
}

export function storedKey(row: SigningKeyRow): StoredKey {
  let custody: KeyCustody;
  if (row.provider === 'pkcs11' && row.hsm_key_id !== null) custody = { provider: 'pkcs11', hsmKeyId: row.hsm_key_id };
  else if (row.provider === 'local' && row.private_key_enc !== null) custody = { provider: 'local', privateKeyEnc: row.private_key_enc };
  else throw new KeyProviderError(`key ${row.kid}: the store holds no usable custody record for provider ${row.provider}`);
  return { kid: row.kid, alg: row.alg as SigningAlgorithm, publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>, custody };
}

export function keyRow(key: GeneratedKey, times: { created_at: number; activate_at: number }): NewSigningKeyRow {
  return {
    kid: key.kid,
    alg: key.alg,
    public_jwk: JSON.stringify(key.publicJwk),
    private_key_enc: key.custody.provider === 'local' ? key.custody.privateKeyEnc : null,
    provider: key.custody.provider,
    hsm_key_id: key.custody.provider === 'pkcs11' ? key.custody.hsmKeyId : null,
    created_at: times.created_at,
    activate_at: times.activate_at,
    retire_at: null,
  };
}
