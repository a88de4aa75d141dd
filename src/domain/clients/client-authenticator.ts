/**
 * Client authentication with a secret. Every failure costs one slow hash, whether the client
 * is unknown, disabled or the secret wrong, so timing does not tell which client ids exist.
 * All of a client's live secrets (two during a rotation's grace period) are checked in parallel,
 * so the wall time stays that of one hash.
 */
import type { BasicCredentials } from '../../protocol/basic-auth.js';
import type { AttemptSource } from '../../protocol/client-authentication.js';
import type { AuthenticationResult } from '../../protocol/token-endpoint.js';
import type { ClientSecret } from './client.js';
import type { ClientRecord } from '../../store/client-repository.js';
import type { ClientDirectory } from './client-directory.js';
import type { CredentialCache } from './credential-cache.js';
import { limitConcurrency } from './concurrency-limit.js';
import { FairHashScheduler, HashCapacityError } from './fair-hash-scheduler.js';
import { hashSecret, verifySecret } from './secret-hash.js';

export { HashCapacityError } from './fair-hash-scheduler.js';

export class ClientAuthenticator {
  private readonly inflight = new Map<string, Promise<AuthenticationResult>>();

  private constructor(
    private readonly directory: ClientDirectory,
    private readonly cache: CredentialCache,
    private readonly dummyHash: string,
    private readonly scheduler: FairHashScheduler,
    private readonly now: () => number,
    private readonly verify: (secret: string, phc: string) => Promise<boolean>,
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
      verify?: (secret: string, phc: string) => Promise<boolean>;
    },
  ): Promise<ClientAuthenticator> {
    // A real hash of a random value at the current cost: the price an unknown client pays.
    const dummyHash = await hashSecret(`dummy-${Math.random()}`, options.scryptCost);
    const verify = limitConcurrency(options.verify ?? verifySecret, options.hashConcurrency);
    // Half the budget per address: a flood from one address leaves the other half free for everyone else.
    const scheduler = new FairHashScheduler({
      concurrency: options.hashConcurrency,
      maxPending: options.maxPendingHashes,
      maxPendingPerAddress: Math.max(1, Math.ceil(options.maxPendingHashes / 2)),
    });
    return new ClientAuthenticator(directory, cache, dummyHash, scheduler, options.now ?? Date.now, verify);
  }

  /** Slow hash verifications running or waiting for a thread now (a gauge: a flood of bad secrets shows here). */
  get hashesPending(): number {
    return this.scheduler.pending;
  }

  /** `source`: whose turn in the hash queue this is (absent for in-process callers). */
  async authenticate({ clientId, secretCandidates }: BasicCredentials, source?: AttemptSource): Promise<AuthenticationResult> {
    // A flood beyond its address's share is refused before it costs a store read.
    if (!this.scheduler.hasRoom(source?.address) && !secretCandidates.some((s) => this.cache.has(clientId, s))) {
      throw new HashCapacityError('too many secret verifications pending from this address');
    }
    const record = await this.directory.get(clientId);
    if (record) {
      for (const secret of secretCandidates) {
        if (this.cache.has(clientId, secret)) {
          return record.client.enabled ? { ok: true, client: record.client } : { ok: false, reason: 'disabled' };
        }
      }
    }
    // Identical credentials arriving together (D1 after a deploy, a burst from one client) share one slow hash.
    const key = this.cache.mac(clientId, secretCandidates.join('\0'));
    const shared = this.inflight.get(key);
    if (shared) return shared;
    const verification = this.scheduler.run(source?.address, clientId, () => this.verifySlowly(clientId, secretCandidates, record)).finally(() => this.inflight.delete(key));
    this.inflight.set(key, verification);
    return verification;
  }

  private async verifySlowly(clientId: string, secretCandidates: readonly string[], record: ClientRecord | undefined): Promise<AuthenticationResult> {
    if (!record) {
      await Promise.all(secretCandidates.map((s) => this.verify(s, this.dummyHash)));
      return { ok: false, reason: 'unknown_client' };
    }
    const now = this.now();
    const live = record.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now);
    const matched = await this.firstMatch(secretCandidates, live);
    if (!matched) return { ok: false, reason: 'wrong_secret' };
    this.cache.add(clientId, matched.candidate, matched.secret.expiresAt);
    return record.client.enabled ? { ok: true, client: record.client } : { ok: false, reason: 'disabled' };
  }

  /**
   * RFC 8705 §2 tls_client_auth: no secret; the TLS handshake (or the trusted proxy) proved possession
   * of a certificate chained to the trusted CA, and protocol/mtls.ts matches it to the client. No hash
   * to pay: an attacker must hold such a certificate before learning whether a client id exists.
   */
  async authenticateByCertificate(clientId: string): Promise<AuthenticationResult> {
    const record = await this.directory.get(clientId);
    if (!record) return { ok: false, reason: 'unknown_client' };
    return record.client.enabled ? { ok: true, client: record.client } : { ok: false, reason: 'disabled' };
  }

  private async firstMatch(candidates: readonly string[], secrets: readonly ClientSecret[]) {
    const pairs = candidates.flatMap((candidate) => secrets.map((secret) => ({ candidate, secret })));
    if (pairs.length === 0) {
      await this.verify(candidates[0] ?? '', this.dummyHash);
      return undefined;
    }
    const results = await Promise.all(pairs.map((p) => this.verify(p.candidate, p.secret.hash)));
    return pairs[results.indexOf(true)];
  }
}
