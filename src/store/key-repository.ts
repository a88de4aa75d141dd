import { PostgresAdapter, sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { insertAuditRows, type NewAuditRow } from './audit-repository.js';
import { recordChange } from './client-repository.js';
import type { Database, SigningKeysTable } from './schema.js';

export type SigningKeyRow = Selectable<SigningKeysTable>;

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

  /** Keys not yet retired at `now`, oldest activation first. */
  async listPublished(now: number): Promise<SigningKeyRow[]> {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', now)]))
      .orderBy('activate_at')
      .execute();
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
  async insert(row: SigningKeyRow, retireOthersAt: number | null, onlyIfNone = false, audit?: KeyAudit): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await lockKeyWriters(trx);
      if (onlyIfNone) {
        const any = await trx
          .selectFrom('signing_keys')
          .select('kid')
          .where((eb) => eb.or([eb('retire_at', 'is', null), eb('retire_at', '>', row.created_at)]))
          .executeTakeFirst();
        if (any) return false;
      }
      let retired: string[] = [];
      if (retireOthersAt !== null) {
        if (audit) retired = (await trx.selectFrom('signing_keys').select('kid').where('retire_at', 'is', null).execute()).map((r) => r.kid);
        await trx.updateTable('signing_keys').set({ retire_at: retireOthersAt }).where('retire_at', 'is', null).execute();
      }
      await trx.insertInto('signing_keys').values(row).execute();
      await recordChange(trx, 'key', row.kid, row.created_at);
      if (audit) await insertAuditRows(trx, audit(retired));
      return true;
    });
  }

  /** Removes keys (and their encrypted private parts) retired before `before`. */
  async deleteRetired(before: number): Promise<number> {
    const result = await this.db.deleteFrom('signing_keys').where('retire_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
