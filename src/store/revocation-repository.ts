import { PostgresAdapter, sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Revocation } from '../model/revocation.js';
import { insertAuditRows, type NewAuditRow } from './audit-repository.js';
import { recordChange } from './change-repository.js';
import type { Database, RevocationsTable } from './schema.js';

type RevocationRow = Selectable<RevocationsTable>;

const toRevocation = (row: RevocationRow): Revocation => ({
  seq: row.seq,
  kind: row.kind,
  jti: row.jti,
  clientId: row.client_id,
  issuedBefore: row.issued_before,
  expiresAt: row.expires_at,
  createdAt: row.created_at,
  kid: row.kid,
});

type Db = Kysely<Database> | Transaction<Database>;

/**
 * The revocation feed hands out `seq` as a cursor, so a reader that has seen seq N must never later
 * meet a row with a smaller seq. PostgreSQL allocates sequence values before commit, so two concurrent
 * writers can commit out of order (N+1 visible, N not yet); locking the table for writers keeps
 * allocation and commit in the same order. Revocations are rare, so serialising them costs nothing;
 * readers are not blocked (EXCLUSIVE still admits plain SELECTs). SQLite has one writer already.
 */
async function serialiseWriters(trx: Transaction<Database>): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`lock table revocations in exclusive mode`.execute(trx);
}

/**
 * Inserts a client-wide cut-off inside the caller's transaction (client enable/disable/delete/create),
 * so the client change and the revocation commit together. `issuedBefore` null means every token.
 */
export async function insertClientCutoff(
  trx: Transaction<Database>,
  row: { clientId: string; issuedBefore: number | null; expiresAt: number; at: number },
): Promise<void> {
  await serialiseWriters(trx);
  await trx
    .insertInto('revocations')
    .values({ kind: 'client', jti: null, kid: null, client_id: row.clientId, issued_before: row.issuedBefore, expires_at: row.expiresAt, created_at: row.at })
    .execute();
  await recordChange(trx, 'revocation', row.clientId, row.at);
}

/** Withdraws every token signed by `kid`, inside the caller's transaction (`keys revoke`). */
export async function insertKeyRevocation(trx: Transaction<Database>, row: { kid: string; expiresAt: number; at: number }): Promise<void> {
  await serialiseWriters(trx);
  await trx
    .insertInto('revocations')
    .values({ kind: 'key', jti: null, kid: row.kid, client_id: '', issued_before: null, expires_at: row.expiresAt, created_at: row.at })
    .execute();
  await recordChange(trx, 'revocation', row.kid, row.at);
}

/** true when the client has a cut-off that still matters (used when an id is reused after a delete). */
export async function hasLiveCutoff(db: Db, clientId: string, now: number): Promise<boolean> {
  const row = await db
    .selectFrom('revocations')
    .select('seq')
    .where('kind', '=', 'client')
    .where('client_id', '=', clientId)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

export class RevocationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Revokes one token by jti; false when it was revoked already (idempotent). */
  async revokeToken(row: { jti: string; clientId: string; expiresAt: number; at: number }, audit?: NewAuditRow): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await serialiseWriters(trx);
      const existing = await trx.selectFrom('revocations').select('seq').where('jti', '=', row.jti).executeTakeFirst();
      if (existing) return false;
      await trx
        .insertInto('revocations')
        .values({ kind: 'token', jti: row.jti, kid: null, client_id: row.clientId, issued_before: null, expires_at: row.expiresAt, created_at: row.at })
        .execute();
      await recordChange(trx, 'revocation', row.jti, row.at);
      if (audit) await insertAuditRows(trx, [audit]);
      return true;
    });
  }

  /** Rows after `seq`, in seq order (the feed's order). Expired rows are included: the caller skips them. */
  async since(seq: number, limit = 1000): Promise<Revocation[]> {
    const rows = await this.db.selectFrom('revocations').selectAll().where('seq', '>', seq).orderBy('seq').limit(limit).execute();
    return rows.map(toRevocation);
  }

  async latestSeq(): Promise<number> {
    const row = await this.db.selectFrom('revocations').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  /** Deletes rows no token can need any more; returns how many. */
  async prune(now: number): Promise<number> {
    const result = await this.db.deleteFrom('revocations').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
