/**
 * The signer seam. A `Signer` holds one private key wherever it lives (sealed in the store and opened
 * in this process, or inside an HSM) and signs JWS signing input with it; a `KeyProvider` creates such
 * keys, opens them from their stored form, and destroys them once their retention has passed. The key
 * ring, the token issuer and the admin services know only these interfaces.
 */
import type { SigningAlgorithm } from '../../model/signing.js';
import { D1AuthzError } from '../../errors/d1authz-error.js';

export interface Signer {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** The public key as a JWK with kid, alg and use: what the JWKS publishes. */
  readonly publicJwk: Readonly<Record<string, unknown>>;
  /** The JWS signature over `input` (RFC 7515 §5.1), in its JWS form (ES256: raw r||s, RFC 7518 §3.4). */
  sign(input: Buffer): Promise<Buffer>;
}

export type KeyProviderName = 'local' | 'pkcs11';

/** Where a key's private part is kept: what the store holds about it besides the public JWK. */
export type KeyCustody =
  | { readonly provider: 'local'; readonly privateKeyEnc: string }
  | { readonly provider: 'pkcs11'; readonly hsmKeyId: string };

export interface GeneratedKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: Record<string, unknown>;
  readonly custody: KeyCustody;
}

/** What a provider needs from a stored key to open it. */
export interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: Record<string, unknown>;
  readonly custody: KeyCustody;
}

export interface KeyProvider {
  readonly name: KeyProviderName;
  generate(alg: SigningAlgorithm): Promise<GeneratedKey>;
  open(key: StoredKey): Promise<Signer>;
  /** Removes the private key for good (the token object in an HSM); a no-op where deleting the row is enough. */
  destroy(key: StoredKey): Promise<void>;
  /** For /readyz: can this provider sign now? */
  ready(): boolean | Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The key's holder cannot sign right now (an HSM lost while serving): the token endpoint answers 503
 * temporarily_unavailable with Retry-After, never a 500 and never a token signed some other way.
 */
export class KeyUnavailableError extends D1AuthzError {
  override readonly name = 'KeyUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_UNAVAILABLE', message, options);
  }
}

/** Start-up or an admin command cannot reach the provider, or a key is held by a provider this node does not have. */
export class KeyProviderError extends D1AuthzError {
  override readonly name = 'KeyProviderError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_KEY_PROVIDER', message, options);
  }
}
