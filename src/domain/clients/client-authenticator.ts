/**
 * Client authentication with a secret. Every failure costs exactly one slow derivation, whether
 * the client is unknown, disabled, in a secret-rotation grace period, or the secret wrong, and
 * whatever characters the presented secret holds, so timing does not tell which client ids exist:
 * - the secret is hashed in one form (secret-form.ts), not once per possible encoding;
 * - a client's live secrets share one salt (secret-hash.ts), so one derivation checks them all;
 * - an unknown client, a client without a usable secret, or a presented id or secret holding a
 *   control character is checked against a dummy hash made at start-up with the current cost.
 * Secrets hashed before live secrets shared their salt (a rotation in grace when this began) cost one
 * derivation per distinct salt until their grace period ends.
 */
import type { AttemptSource, AuthenticationResult, BasicCredentials } from '../../model/client-authentication.js';
import type { ClientSecret } from '../../model/client.js';
import type { ClientRecord } from '../../store/client-repository.js';
import type { ClientDirectory } from './client-directory.js';
import type { CredentialCache } from './credential-cache.js';
import { limitConcurrency } from './concurrency-limit.js';
import { FairHashScheduler, HashCapacityError } from './fair-hash-scheduler.js';
import { hasControlCharacters, secretForm } from './secret-form.js';
import { deriveKey, derivationParams, matchingKey, parseHash, sameDerivation, type Derive, type DerivationParams, type StoredHash } from './secret-hash.js';

export { HashCapacityError } from './fair-hash-scheduler.js';

/** What is presented, in the form that is hashed; undefined when it holds a control character. */
interface Presented {
  readonly clientId: string;
  readonly secret: Buffer | undefined;
}

/** Live secrets that one derivation checks: same salt and parameters. */
interface DerivationGroup {
  readonly params: DerivationParams;
  readonly secrets: { readonly secret: ClientSecret; readonly key: Buffer }[];
}

export class ClientAuthenticator {
  private readonly inflight = new Map<string, Promise<AuthenticationResult>>();

  private constructor(
    private readonly directory: ClientDirectory,
    private readonly cache: CredentialCache,
    private readonly dummy: DerivationParams,
    private readonly scheduler: FairHashScheduler,
    private readonly now: () => number,
    private readonly derive: Derive,
  ) {}

  static async create(
    directory: ClientDirectory,
    cache: CredentialCache,
    options: {
      scryptCost: number;
      maxPendingHashes: number;
      /** Slow hashes running at once (the others wait, still counted as pending); leaves libuv threads for signing. */
      hashConcurrency: number;
      now?: () => number;
      derive?: Derive;
    },
  ): Promise<ClientAuthenticator> {
    // A salt and the current cost: what an unknown client's check derives with, so it costs one real hash.
    const dummy = derivationParams(options.scryptCost);
    const derive = limitConcurrency(options.derive ?? deriveKey, options.hashConcurrency);
    // Half the budget per address: a flood from one address leaves the other half free for everyone else.
    const scheduler = new FairHashScheduler({
      concurrency: options.hashConcurrency,
      maxPending: options.maxPendingHashes,
      maxPendingPerAddress: Math.max(1, Math.ceil(options.maxPendingHashes / 2)),
    });
    return new ClientAuthenticator(directory, cache, dummy, scheduler, options.now ?? Date.now, derive);
  }

  /** Slow hash verifications running or waiting for a thread now (a gauge: a flood of bad secrets shows here). */
  get hashesPending(): number {
    return this.scheduler.pending;
  }

  /** `source`: whose turn in the hash queue this is (absent for in-process callers). */
  async authenticate({ clientId, secret }: BasicCredentials, source?: AttemptSource): Promise<AuthenticationResult> {
    const presented: Presented = { clientId, secret: hasControlCharacters(clientId) ? undefined : secretForm(secret) };
    // A flood beyond its address's share is refused before it costs a store read.
    if (!this.scheduler.hasRoom(source?.address) && !(presented.secret && this.cache.has(clientId, presented.secret))) {
      throw new HashCapacityError('too many secret verifications pending from this address');
    }
    const record = presented.secret ? await this.directory.get(clientId) : undefined;
    if (record && presented.secret && this.cache.has(clientId, presented.secret)) return this.outcome(record);
    // Identical credentials arriving together (D1 after a deploy, a burst from one client) share one slow hash.
    const key = this.cache.mac(clientId, presented.secret ?? secret);
    const shared = this.inflight.get(key);
    if (shared) return shared;
    const verification = this.scheduler.run(source?.address, clientId, () => this.verifySlowly(presented, record)).finally(() => this.inflight.delete(key));
    this.inflight.set(key, verification);
    return verification;
  }

  private async verifySlowly(presented: Presented, record: ClientRecord | undefined): Promise<AuthenticationResult> {
    const groups = record ? this.derivationGroups(record) : [];
    const matched = await this.check(presented.secret, groups);
    if (!presented.secret) return { ok: false, reason: 'control_characters' };
    if (!record) return { ok: false, reason: 'unknown_client' };
    if (!matched) return { ok: false, reason: 'wrong_secret' };
    this.cache.add(presented.clientId, presented.secret, matched.expiresAt);
    return this.outcome(record);
  }

  private outcome(record: ClientRecord): AuthenticationResult {
    return record.client.enabled ? { ok: true, client: record.client } : { ok: false, reason: 'disabled' };
  }

  /** The client's live secrets, newest first, grouped by what derives them. A malformed stored hash never matches. */
  private derivationGroups(record: ClientRecord): DerivationGroup[] {
    const now = this.now();
    const groups: DerivationGroup[] = [];
    for (const secret of record.secrets) {
      if (secret.expiresAt !== null && secret.expiresAt <= now) continue;
      const stored: StoredHash | undefined = parseHash(secret.hash);
      if (!stored) continue;
      const group = groups.find((g) => sameDerivation(g.params, stored));
      if (group) group.secrets.push({ secret, key: stored.key });
      else groups.push({ params: stored, secrets: [{ secret, key: stored.key }] });
    }
    return groups;
  }

  /** The live secret the presented one matches. One derivation per group; one against the dummy when there is none to check. */
  private async check(secret: Buffer | undefined, groups: readonly DerivationGroup[]): Promise<ClientSecret | undefined> {
    if (!secret || groups.length === 0) {
      await this.derive(secret ?? Buffer.alloc(0), this.dummy);
      return undefined;
    }
    const derived = await Promise.all(groups.map((g) => this.derive(secret, g.params)));
    for (const [i, group] of groups.entries()) {
      const at = matchingKey(derived[i]!, group.secrets.map((s) => s.key));
      if (at >= 0) return group.secrets[at]!.secret;
    }
    return undefined;
  }

  /**
   * RFC 8705 §2 tls_client_auth: no secret; the TLS handshake (or the trusted proxy) proved possession
   * of a certificate chained to the trusted CA, and model/client-certificate.ts matches it to the client. No hash
   * to pay: an attacker must hold such a certificate before learning whether a client id exists.
   */
  async authenticateByCertificate(clientId: string): Promise<AuthenticationResult> {
    const record = await this.directory.get(clientId);
    if (!record) return { ok: false, reason: 'unknown_client' };
    return record.client.enabled ? { ok: true, client: record.client } : { ok: false, reason: 'disabled' };
  }
}
