import { PostgresAdapter, sql, type ExpressionBuilder, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import { insertAuditRows, type NewAuditRow } from './audit-repository.js';
import { recordChange } from './change-repository.js';
import { insertKeyRevocation } from './revocation-repository.js';
import type { Database, SigningKeysTable } from './schema.js';

export type SigningKeyRow = Selectable<SigningKeysTable>;
export type NewSigningKeyRow = Insertable<SigningKeysTable> & Pick<SigningKeyRow, 'kid' | 'created_at' | 'activate_at'>;

export interface KeyRevocation {
  readonly kid: string;
  readonly reason: string;
  readonly at: number;
  /** Until when the 'key' revocation row must be kept: no token the key signed is valid after it. */
  readonly tokensExpireAt: number;
  /** Which live key signs at `at` (the caller's rule, key-ring.ts), from the rows read under the lock. */
  readonly signingKid: (rows: readonly SigningKeyRow[]) => string | undefined;
  /** activate_at given to the standby when it takes over from the withdrawn signing key. */
  readonly promoteActivateAt: (revoked: SigningKeyRow) => number;
}

export type RevokeOutcome =
  | { readonly revoked: SigningKeyRow; readonly promoted: SigningKeyRow | null }
  | { readonly error: 'unknown_kid' | 'not_published' | 'no_standby' };

const live = (now: number) => (eb: ExpressionBuilder<Database, 'signing_keys'>) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', now)]);

/**
 * Serialises key writers until the end of the transaction, so that "insert only if there is no
 * key yet" cannot succeed twice when several nodes (or workers) start at once on an empty store,
 * and two rotations never interleave. PostgreSQL: a transaction-scoped advisory lock (released by
 * commit or rollback, also when the connection dies); the reads that follow it run on a snapshot
 * taken after the lock, so they see the other writer's key. SQLite: a write that changes nothing
 * takes the database's write lock before anything is read (waiting up to busy_timeout), instead
 * of failing with SQLITE_BUSY when a read transaction tries to become a writer.
 */
async function lockKeyWriters(trx: Transaction<Database>): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_advisory_xact_lock(hashtext('d1-authz:signing_keys'))`.execute(trx);
  } else {
    await sql`update signing_keys set kid = kid where 0 = 1`.execute(trx);
  }
}

/** The audit rows of a key insert, given the kids it scheduled for retirement; inserted in its transaction. */
export type KeyAudit = (retiredKids: readonly string[]) => NewAuditRow[];

export class KeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Keys not yet retired at `now` (the standby included), oldest activation first. */
  async listPublished(now: number): Promise<SigningKeyRow[]> {
    return this.db.selectFrom('signing_keys').selectAll().where(live(now)).orderBy('activate_at').execute();
  }

  /** true when a live key of the given kind (standby or not) exists. */
  async hasLive(now: number, standby: boolean): Promise<boolean> {
    const row = await this.db.selectFrom('signing_keys').select('kid').where(live(now)).where('standby', '=', standby ? 1 : 0).executeTakeFirst();
    return row !== undefined;
  }

  async listAll(): Promise<SigningKeyRow[]> {
    return this.db.selectFrom('signing_keys').selectAll().orderBy('activate_at').execute();
  }

  /**
   * Inserts a key. Every key that was not yet scheduled for retirement gets `retireOthersAt`:
   * the moment the new key takes over plus the longest token lifetime, so every token an old
   * key signed has expired before that key leaves the JWKS.
   * With `onlyIfNone`, inserts only when no published key exists (first start; several nodes may race).
   */
  async insert(row: NewSigningKeyRow, retireOthersAt: number | null, onlyIfNone = false, audit?: KeyAudit): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await lockKeyWriters(trx);
      if (onlyIfNone) {
        const any = await trx.selectFrom('signing_keys').select('kid').where(live(row.created_at)).where('standby', '=', 0).executeTakeFirst();
        if (any) return false;
      }
      let retired: string[] = [];
      if (retireOthersAt !== null) {
        if (audit) {
          retired = (await trx.selectFrom('signing_keys').select('kid').where('retire_at', 'is', null).where('standby', '=', 0).execute()).map((r) => r.kid);
        }
        // The standby is not replaced by a rotation: it waits for an emergency.
        await trx.updateTable('signing_keys').set({ retire_at: retireOthersAt }).where('retire_at', 'is', null).where('standby', '=', 0).execute();
      }
      await trx.insertInto('signing_keys').values(row).execute();
      await recordChange(trx, 'key', row.kid, row.created_at);
      if (audit) await insertAuditRows(trx, audit(retired));
      return true;
    });
  }

  /** Audit rows of a key change that committed in a transaction of its own (revoke, master-key rotate). */
  async insertAudit(rows: readonly NewAuditRow[]): Promise<void> {
    if (rows.length > 0) await this.db.transaction().execute((trx) => insertAuditRows(trx, rows));
  }

  /** Inserts the standby key unless a live one exists (several nodes may race at start). */
  async insertStandby(row: NewSigningKeyRow): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await lockKeyWriters(trx);
      const any = await trx.selectFrom('signing_keys').select('kid').where(live(row.created_at)).where('standby', '=', 1).executeTakeFirst();
      if (any) return false;
      await trx.insertInto('signing_keys').values({ ...row, standby: 1 }).execute();
      await recordChange(trx, 'key', row.kid, row.created_at);
      return true;
    });
  }

  /**
   * Withdraws a key at once, in one transaction: it leaves the published set (retire_at = now), every
   * token it signed is revoked (a 'key' revocation row), and when it was the signing key the standby
   * takes over in the same commit, so no node ever has a moment without a signing key.
   */
  async revoke(r: KeyRevocation): Promise<RevokeOutcome> {
    return this.db.transaction().execute(async (trx) => {
      await lockKeyWriters(trx);
      const rows = await trx.selectFrom('signing_keys').selectAll().where(live(r.at)).orderBy('activate_at').execute();
      const target = rows.find((k) => k.kid === r.kid);
      if (!target) {
        const exists = await trx.selectFrom('signing_keys').select('kid').where('kid', '=', r.kid).executeTakeFirst();
        return { error: exists ? 'not_published' : 'unknown_kid' } as const;
      }
      let promoted: SigningKeyRow | null = null;
      if (target.standby === 0 && r.signingKid(rows) === target.kid) {
        const standby = rows.find((k) => k.standby === 1);
        if (!standby) return { error: 'no_standby' } as const;
        // The standby retires when the withdrawn key would have: after a key rotated in already takes over.
        promoted = { ...standby, standby: 0, activate_at: r.promoteActivateAt(target), retire_at: target.retire_at };
        await trx.updateTable('signing_keys').set({ standby: 0, activate_at: promoted.activate_at, retire_at: promoted.retire_at }).where('kid', '=', standby.kid).execute();
      }
      await trx.updateTable('signing_keys').set({ retire_at: r.at, revoked_at: r.at, revoke_reason: r.reason, standby: 0 }).where('kid', '=', target.kid).execute();
      await insertKeyRevocation(trx, { kid: target.kid, expiresAt: r.tokensExpireAt, at: r.at });
      await recordChange(trx, 'key', target.kid, r.at);
      return { revoked: { ...target, retire_at: r.at, revoked_at: r.at, revoke_reason: r.reason }, promoted };
    });
  }

  /** Keys retired before `before` whose private part still exists somewhere. */
  async retiredBefore(before: number): Promise<SigningKeyRow[]> {
    return this.db.selectFrom('signing_keys').selectAll().where('retire_at', '<', before).where('destroyed_at', 'is', null).execute();
  }

  /** A local key goes with its row (the sealed private key is in it). */
  async delete(kid: string): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
  }

  /** An HSM key's row stays after its token objects are destroyed: `keys list` shows when. */
  async markDestroyed(kid: string, at: number): Promise<void> {
    await this.db.updateTable('signing_keys').set({ destroyed_at: at }).where('kid', '=', kid).execute();
  }

  /**
   * Re-seals every local key in one transaction (`master-key rotate`): either all of them are under
   * the new master key afterwards, or (on any failure) none has changed. Returns how many.
   */
  async rewrapSealed(rewrap: (kid: string, sealed: string) => string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await lockKeyWriters(trx);
      const rows = await trx.selectFrom('signing_keys').select(['kid', 'private_key_enc']).where('private_key_enc', 'is not', null).execute();
      for (const row of rows) {
        await trx.updateTable('signing_keys').set({ private_key_enc: rewrap(row.kid, row.private_key_enc!) }).where('kid', '=', row.kid).execute();
      }
      return rows.length;
    });
  }
}
