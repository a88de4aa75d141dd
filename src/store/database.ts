import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { sqlitePath } from './sqlite-path.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** true when the database answers; used by /readyz. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

const INT8_OID = 20;

export interface StoreOptions {
  /** PostgreSQL: connections per process (every cluster worker has its own pool). */
  readonly poolSize?: number;
}

export function openStore(databaseUrl: string, options: StoreOptions = {}): Store {
  const path = sqlitePath(databaseUrl);
  if (path !== null) return openSqlite(path);
  return openPostgres(databaseUrl, options.poolSize ?? 10);
}

function openSqlite(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  // WAL lets the CLI write while the server reads; synchronous=FULL makes every acknowledged
  // commit durable against power loss, not only against a process crash.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return storeOf(db, 'sqlite');
}

function openPostgres(url: string, poolSize: number): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 2_000,
    statement_timeout: 5_000,
    query_timeout: 6_000,
    // A transaction left open (a frozen writer) is ended by the server, so the sequence value it
    // holds cannot stay uncommitted for long: the change feed stops waiting for it after a bound.
    idle_in_transaction_session_timeout: 10_000,
    // Dead peers (a cut network) are noticed on idle connections too.
    keepAlive: true,
    // Times are bigint epoch milliseconds: well inside Number's safe range.
    types: { getTypeParser: (oid: number, format?: any) => (oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) } as pg.CustomTypesConfig,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => {});
  // pg-pool removes its own 'error' listener while a client is checked out; a connection lost
  // between two queries of a transaction would then emit an unhandled 'error' and kill the
  // process. The query in progress (or the next one) fails instead, and the pool drops the client.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return storeOf(db, 'postgres');
}

function storeOf(db: Kysely<Database>, dialect: Dialect): Store {
  return {
    db,
    dialect,
    ping: async () => {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}
