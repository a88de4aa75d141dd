/** Admin API tokens: rows in, records out. */
import type { Kysely } from 'kysely';
import type { AdminTokensTable, Database } from './schema.js';

export type AdminRole = AdminTokensTable['role'];

export interface AdminTokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly tokenHash: string;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
}

const record = (r: AdminTokensTable): AdminTokenRecord => ({
  id: r.id,
  name: r.name,
  role: r.role,
  tokenHash: r.token_hash,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

export class AdminTokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** false when the name is taken (names are never reused, so an audit row's actor stays unambiguous). */
  async create(row: AdminTokensTable): Promise<boolean> {
    const taken = await this.db.selectFrom('admin_tokens').select('id').where('name', '=', row.name).executeTakeFirst();
    if (taken) return false;
    try {
      await this.db.insertInto('admin_tokens').values(row).execute();
      return true;
    } catch (err) {
      // A concurrent create of the same name lost the race on the unique index.
      if ((await this.db.selectFrom('admin_tokens').select('id').where('name', '=', row.name).executeTakeFirst()) !== undefined) return false;
      throw err;
    }
  }

  async findById(id: string): Promise<AdminTokenRecord | undefined> {
    const row = await this.db.selectFrom('admin_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row && record(row);
  }

  async list(): Promise<AdminTokenRecord[]> {
    const rows = await this.db.selectFrom('admin_tokens').selectAll().orderBy('created_at').orderBy('name').execute();
    return rows.map(record);
  }

  /** false when there is no such live token. */
  async revoke(name: string, at: number): Promise<boolean> {
    const result = await this.db.updateTable('admin_tokens').set({ revoked_at: at }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touch(id: string, at: number): Promise<void> {
    await this.db.updateTable('admin_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
