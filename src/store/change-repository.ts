import type { Kysely } from 'kysely';
import type { ChangeKind, Database } from './schema.js';

export interface Change {
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly subject: string;
}

export class ChangeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async latestSeq(): Promise<number> {
    const row = await this.db.selectFrom('changes').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  async since(seq: number, limit = 1000): Promise<Change[]> {
    return this.db.selectFrom('changes').select(['seq', 'kind', 'subject']).where('seq', '>', seq).orderBy('seq').limit(limit).execute();
  }

  async prune(olderThan: number): Promise<void> {
    await this.db.deleteFrom('changes').where('created_at', '<', olderThan).execute();
  }
}
