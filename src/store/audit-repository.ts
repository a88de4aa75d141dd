/**
 * The audit_events table (migration 0010): inserts (one row inside the caller's transaction, or a
 * batch), reads for `d1-authz audit`, and retention pruning. Nothing here updates a row.
 */
import { PostgresAdapter, sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import { AUDIT_RETENTION_FLOOR_DAYS } from './migrations.js';
import type { AuditEventsTable, Database } from './schema.js';

export type AuditRow = Selectable<AuditEventsTable>;
export type NewAuditRow = Insertable<AuditEventsTable>;

type Db = Kysely<Database> | Transaction<Database>;

/** Rows per INSERT statement: well inside SQLite's bound-parameter limit (7 columns a row). */
const ROWS_PER_STATEMENT = 500;

/** Inserts rows with the caller's connection or transaction (admin changes pass their transaction). */
export async function insertAuditRows(db: Db, rows: readonly NewAuditRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    await db.insertInto('audit_events').values(rows.slice(i, i + ROWS_PER_STATEMENT)).execute();
  }
}

export interface AuditQuery {
  readonly clientId?: string;
  readonly type?: string;
  /** Epoch ms, inclusive. */
  readonly since?: number;
  /** Epoch ms, exclusive. */
  readonly until?: number;
  /** Paging, newest first: only rows older than this (at, id) position. */
  readonly before?: { readonly at: number; readonly id: number };
  readonly limit: number;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * A batch of request events. On PostgreSQL one statement over column arrays (`unnest`): built and
   * sent with a tenth of the JavaScript of a 500-row VALUES list, which the event loop pays for.
   */
  insert(rows: readonly NewAuditRow[]): Promise<void> {
    if (!(this.db.getExecutor().adapter instanceof PostgresAdapter)) return this.db.transaction().execute((trx) => insertAuditRows(trx, rows));
    return this.insertColumns(rows);
  }

  /** One statement, so a batch is written whole or not at all, as in a transaction. */
  private async insertColumns(b: readonly NewAuditRow[]): Promise<void> {
    await sql`insert into audit_events (at, type, actor, client_id, address, correlation_id, details)
      select * from unnest(${b.map((r) => r.at)}::bigint[], ${b.map((r) => r.type)}::text[], ${b.map((r) => r.actor ?? null)}::text[],
        ${b.map((r) => r.client_id ?? null)}::text[], ${b.map((r) => r.address ?? null)}::text[],
        ${b.map((r) => r.correlation_id ?? null)}::text[], ${b.map((r) => r.details)}::text[])`.execute(this.db);
  }

  /** Newest first. */
  async find(q: AuditQuery): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_events').selectAll();
    if (q.clientId !== undefined) query = query.where('client_id', '=', q.clientId);
    if (q.type !== undefined) query = query.where('type', '=', q.type);
    if (q.since !== undefined) query = query.where('at', '>=', q.since);
    if (q.until !== undefined) query = query.where('at', '<', q.until);
    const before = q.before;
    if (before) query = query.where((eb) => eb.or([eb('at', '<', before.at), eb.and([eb('at', '=', before.at), eb('id', '<', before.id)])]));
    return query.orderBy('at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
  }

  /** Events of `types` since `since` (epoch ms), counted per minute: what the console's overview charts. */
  async countPerMinute(types: readonly string[], since: number): Promise<{ type: string; minute: number; n: number }[]> {
    const rows = await this.db
      .selectFrom('audit_events')
      .select(['type', sql<number>`(at / 60000)`.as('minute'), sql<number>`count(*)`.as('n')])
      .where('type', 'in', [...types])
      .where('at', '>=', since)
      .groupBy(['type', sql`(at / 60000)`])
      .execute();
    return rows.map((r) => ({ type: r.type, minute: Math.floor(Number(r.minute)), n: Number(r.n) }));
  }

  /**
   * Deletes at most `maxRows` of the oldest rows older than `before` (epoch ms); returns how many.
   * PostgreSQL: through the migration's SECURITY DEFINER function, so the server's role needs no
   * DELETE on the table. Both stores refuse rows younger than the retention floor.
   */
  async prune(before: number, maxRows: number): Promise<number> {
    if (this.db.getExecutor().adapter instanceof PostgresAdapter) {
      const { rows } = await sql<{ n: number }>`select d1authz_prune_audit_events(${before}, ${maxRows}) as n`.execute(this.db);
      return Number(rows[0]?.n ?? 0);
    }
    const floor = Date.now() - AUDIT_RETENTION_FLOOR_DAYS * 86_400_000;
    const oldest = this.db.selectFrom('audit_events').select('id').where('at', '<', Math.min(before, floor)).orderBy('at').limit(maxRows);
    const result = await this.db.deleteFrom('audit_events').where('id', 'in', oldest).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
