/**
 * Admin API tokens: `d1at_<id>_<secret>`. The id finds the row; the secret is checked against a
 * scrypt hash, the same slow salted hash as client secrets, and a verified token is remembered (as an
 * HMAC, never the token) so the hash runs once per token per cache lifetime. The row is read on every
 * request, so a revocation takes effect at once on every node.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminRole, AdminTokenRecord, AdminTokenRepository } from '../../store/admin-token-repository.js';
import { limitConcurrency } from '../clients/concurrency-limit.js';
import { hashSecret, verifySecret } from '../clients/secret-hash.js';
import { D1AuthzError } from '../../errors/d1authz-error.js';

export type { AdminRole } from '../../store/admin-token-repository.js';
export const ADMIN_ROLES: readonly AdminRole[] = ['admin', 'viewer'];

const TOKEN = /^d1at_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Verifications waiting at once beyond which a request is refused at once instead of queued. */
const MAX_PENDING = 16;

export class AdminTokenError extends D1AuthzError {
  override readonly name = 'AdminTokenError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ADMIN_TOKEN', message, options);
  }
}

export class AdminCapacityError extends D1AuthzError {
  override readonly name = 'AdminCapacityError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ADMIN_CAPACITY', message, options);
  }
}

export interface AdminIdentity {
  readonly name: string;
  readonly role: AdminRole;
}

export interface AdminTokenView {
  readonly name: string;
  readonly role: AdminRole;
  readonly created_at: string;
  readonly created_by: string;
  readonly revoked_at: string | null;
  readonly last_used_at: string | null;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export const adminTokenView = (r: AdminTokenRecord): AdminTokenView => ({
  name: r.name,
  role: r.role,
  created_at: new Date(r.createdAt).toISOString(),
  created_by: r.createdBy,
  revoked_at: iso(r.revokedAt),
  last_used_at: iso(r.lastUsedAt),
});

export interface AdminTokenPolicy {
  readonly scryptCost: number;
  /** How long a verified token skips the slow hash (ms). */
  readonly cacheTtlMs: number;
}

export class AdminTokenService {
  private readonly macKey = randomBytes(32);
  /** id -> HMAC of the verified token and when that proof lapses. */
  private readonly verified = new Map<string, { mac: Buffer; until: number }>();
  private readonly verify = limitConcurrency(verifySecret, 1);
  private pending = 0;
  private dummyHash: Promise<string> | undefined;
  /** last_used_at is written at most once a minute per token. */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly repo: AdminTokenRepository,
    private readonly policy: AdminTokenPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  async create(name: string, role: AdminRole, createdBy: string): Promise<{ view: AdminTokenView; token: string }> {
    if (!NAME.test(name)) throw new AdminTokenError('the token name must be 1 to 64 characters of A-Z a-z 0-9 _ . @ -');
    if (!ADMIN_ROLES.includes(role)) throw new AdminTokenError(`the role must be one of ${ADMIN_ROLES.join(', ')}`);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.now();
    const row = { id, name, role, token_hash: await hashSecret(secret, this.policy.scryptCost), created_at: now, created_by: createdBy, revoked_at: null, last_used_at: null };
    if (!(await this.repo.create(row))) throw new AdminTokenError(`an admin token named ${name} exists already (names are never reused)`);
    const record = (await this.repo.findById(id))!;
    return { view: adminTokenView(record), token: `d1at_${id}_${secret}` };
  }

  async list(): Promise<AdminTokenView[]> {
    return (await this.repo.list()).map(adminTokenView);
  }

  async revoke(name: string): Promise<void> {
    if (!(await this.repo.revoke(name, this.now()))) throw new AdminTokenError(`no live admin token named ${name}`);
  }

  /** The identity a presented token proves, or undefined. Costs one slow hash unless recently verified. */
  async authenticate(presented: string): Promise<AdminIdentity | undefined> {
    const m = TOKEN.exec(presented);
    const record = m ? await this.repo.findById(m[1]!) : undefined;
    if (!m || !record) {
      await this.slowly(() => this.dummy().then((h) => this.verify(presented, h)));
      return undefined;
    }
    if (record.revokedAt !== null) return undefined;
    const mac = createHmac('sha256', this.macKey).update(presented).digest();
    const proof = this.verified.get(record.id);
    const now = this.now();
    if (!(proof && proof.until > now && timingSafeEqual(proof.mac, mac))) {
      if (!(await this.slowly(() => this.verify(m[2]!, record.tokenHash)))) return undefined;
      this.verified.set(record.id, { mac, until: now + this.policy.cacheTtlMs });
    }
    if ((this.touched.get(record.id) ?? 0) < now - 60_000) {
      this.touched.set(record.id, now);
      this.repo.touch(record.id, now).catch(() => {});
    }
    return { name: record.name, role: record.role };
  }

  private async slowly(run: () => Promise<boolean>): Promise<boolean> {
    if (this.pending >= MAX_PENDING) throw new AdminCapacityError('too many admin token verifications pending');
    this.pending++;
    try {
      return await run();
    } finally {
      this.pending--;
    }
  }

  private dummy(): Promise<string> {
    return (this.dummyHash ??= hashSecret(randomBytes(16).toString('hex'), this.policy.scryptCost));
  }
}
