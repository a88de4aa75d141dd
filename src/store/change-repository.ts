import type { Kysely, Transaction } from 'kysely';
import type { ChangeKind, Database } from './schema.js';

/** Writes one change row; returns its seq, so that the process that made the change can tell the feed it applied it already. */
export async function recordChange(trx: Transaction<Database> | Kysely<Database>, kind: ChangeKind, subject: string, at: number): Promise<number> {
  const row = await trx.insertInto('changes').values({ kind, subject, created_at: at }).returning('seq').executeTakeFirstOrThrow();
  return Number(row.seq);
}

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

  /**
   * Rows after `seq`, plus those of `gaps` (seqs below `seq` not seen yet: their transactions may
   * commit later, see domain/sync/change-feed.ts), in seq order.
   */
  async sinceOrIn(seq: number, gaps: readonly number[], limit = 1000): Promise<Change[]> {
    const query = this.db.selectFrom('changes').select(['seq', 'kind', 'subject']);
    const filtered = gaps.length === 0 ? query.where('seq', '>', seq) : query.where((eb) => eb.or([eb('seq', '>', seq), eb('seq', 'in', [...gaps])]));
    return filtered.orderBy('seq').limit(limit).execute();
  }

  /** The seqs present in (after, upTo], ascending. */
  async seqsBetween(after: number, upTo: number): Promise<number[]> {
    const rows = await this.db.selectFrom('changes').select('seq').where('seq', '>', after).where('seq', '<=', upTo).orderBy('seq').execute();
    return rows.map((r) => Number(r.seq));
  }

  async prune(olderThan: number): Promise<void> {
    await this.db.deleteFrom('changes').where('created_at', '<', olderThan).execute();
  }
}
