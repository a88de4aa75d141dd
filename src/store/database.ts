import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { sqlitePath } from './sqlite-path.js';
import type { Database } from './schema.js';
import { D1AuthzError } from '../errors/d1authz-error.js';

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
  /** SQLite: create the database file when it does not exist (serve, migrate). Default true. */
  readonly create?: boolean;
}

/** The store named by D1AUTHZ_DATABASE_URL does not exist or is not set up; the command would not be run against it. */
export class StoreSetupError extends D1AuthzError {
  override readonly name = 'StoreSetupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORE_SETUP', message, options);
  }
}

export function openStore(databaseUrl: string, options: StoreOptions = {}): Store {
  const path = sqlitePath(databaseUrl);
  if (path !== null) return openSqlite(path, options.create ?? true);
  return openPostgres(databaseUrl, options.poolSize ?? 10);
}

/** Owner only: the database holds secret hashes and sealed signing keys. */
const FILE_MODE = 0o600;
const FOLDER_MODE = 0o700;

/**
 * SQLite gives its -wal and -shm files the permissions of the database file, so a database
 * created (or tightened) to 0600 keeps all three private. A file an older version created 0644
 * is tightened on open; an existing folder is left as it is (it may be shared, e.g. /var/lib).
 */
function prepareSqliteFile(path: string, create: boolean): void {
  const file = resolve(path);
  if (!existsSync(file)) {
    if (!create) {
      throw new StoreSetupError(
        `no database at ${file} (D1AUTHZ_DATABASE_URL=sqlite:${path}): this command only uses an existing store. ` +
          'Point D1AUTHZ_DATABASE_URL (or --database-url) at the database the server uses, or create it with "d1-authz migrate" or "d1-authz serve"',
      );
    }
    mkdirSync(dirname(file), { recursive: true, mode: FOLDER_MODE });
    try {
      closeSync(openSync(file, 'wx', FILE_MODE));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, FILE_MODE);
    } catch (err) {
      // Another user's file (EPERM): not ours to change; SQLite reports it if it cannot use it.
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    }
  }
}

function openSqlite(path: string, create: boolean): Store {
  if (path !== ':memory:') prepareSqliteFile(path, create);
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
    types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as (v: string) => unknown)) },
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
