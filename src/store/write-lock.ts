/**
 * SQLite: a transaction that reads before it writes starts as a reader; if another connection (the
 * server's audit writer thread, another process) commits in between, its upgrade to a writer fails at
 * once with SQLITE_BUSY ("database is locked"), busy_timeout or not, since its snapshot is stale. A
 * write that changes nothing, first, takes the write lock before anything is read, waiting up to
 * busy_timeout for the other writer instead. PostgreSQL needs nothing: its row locks wait.
 */
import { PostgresAdapter, sql, type Transaction } from 'kysely';
import type { Database } from './schema.js';

export async function writeFirst(trx: Transaction<Database>): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) return;
  await sql`update clients set client_id = client_id where 0 = 1`.execute(trx);
}
