/** Creating and rotating signing keys (used at first start and by `d1-authz keys rotate`). */
import type { SigningAlgorithm } from '../../config/schema.js';
import type { KeyRepository, SigningKeyRow } from '../../store/key-repository.js';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption.js';
import { MasterKeyError } from './master-key.js';
import { generateSigningKey } from './key-generation.js';
import { keyState, signingRow, type KeyState } from './key-ring.js';

export interface KeyInfo {
  readonly kid: string;
  readonly alg: string;
  readonly state: KeyState;
  readonly createdAt: string;
  readonly activateAt: string;
  readonly retireAt: string | null;
}

export interface KeyPolicy {
  readonly signingAlg: SigningAlgorithm;
  readonly keyActivationDelay: number;
  readonly maxTokenTtl: number;
  /** Added to retirement so a token verified a little late (clock skew) still finds its key. */
  readonly clockSkew: number;
}

export class KeyService {
  constructor(
    private readonly repo: KeyRepository,
    private readonly masterKey: Buffer,
    private readonly policy: KeyPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  private row(alg: SigningAlgorithm, activateAt: number): SigningKeyRow {
    const key = generateSigningKey(alg);
    return {
      kid: key.kid,
      alg,
      public_jwk: JSON.stringify(key.publicJwk),
      private_key_enc: encryptPrivateKey(this.masterKey, key.kid, key.privatePem),
      created_at: this.now(),
      activate_at: activateAt,
      retire_at: null,
    };
  }

  /** First start: a key that signs at once, unless one exists already. Returns its kid, or null. */
  async ensureKey(): Promise<string | null> {
    const row = this.row(this.policy.signingAlg, this.now());
    return (await this.repo.insert(row, null, true)) ? row.kid : null;
  }

  /**
   * Rotation: the new key is published now and signs after `activateInSeconds`; the keys it
   * replaces stay published until every token they can have signed has expired.
   */
  async rotate(options: { alg?: SigningAlgorithm; activateInSeconds?: number } = {}): Promise<KeyInfo> {
    const now = this.now();
    await this.assertOpensPublishedKeys(now);
    const activateAt = now + 1000 * (options.activateInSeconds ?? this.policy.keyActivationDelay);
    const row = this.row(options.alg ?? this.policy.signingAlg, activateAt);
    await this.repo.insert(row, activateAt + 1000 * (this.policy.maxTokenTtl + this.policy.clockSkew));
    await this.repo.deleteRetired(now - 86_400_000);
    return this.info(row, null, now);
  }

  /**
   * A key sealed with another master key than the servers' would stop every server at its next
   * start (and readiness on the running ones): the master key given here must open the keys in use.
   */
  private async assertOpensPublishedKeys(now: number): Promise<void> {
    for (const row of await this.repo.listPublished(now)) {
      try {
        decryptPrivateKey(this.masterKey, row.kid, row.private_key_enc);
      } catch {
        throw new MasterKeyError(
          `the master key given (D1AUTHZ_MASTER_KEY, D1AUTHZ_MASTER_KEY_FILE or the generated file) does not open the published signing key ${row.kid}: ` +
            'it is not the master key of the servers of this database. Nothing was written; use their master key',
        );
      }
    }
  }

  async list(): Promise<KeyInfo[]> {
    const now = this.now();
    const rows = await this.repo.listAll();
    const signingKid = signingRow(rows, now)?.kid ?? null;
    return rows.map((r) => this.info(r, signingKid, now));
  }

  private info(r: SigningKeyRow, signingKid: string | null, now: number): KeyInfo {
    const iso = (t: number) => new Date(t).toISOString();
    return {
      kid: r.kid,
      alg: r.alg,
      state: keyState(r, signingKid, r.kid, now),
      createdAt: iso(r.created_at),
      activateAt: iso(r.activate_at),
      retireAt: r.retire_at === null ? null : iso(r.retire_at),
    };
  }
}
