/**
 * Regression: on SQLite a client change (here a secret rotation) read before it wrote, so a commit by
 * another connection in between (the server's audit writer thread, another process) made its upgrade to
 * a writer fail at once with "database is locked", whatever the busy_timeout. It now takes the write
 * lock first. The other connection's commit is made, synchronously, right after the change's first read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { ClientRepository } from '../../src/store/client-repository.js';
import type { Database } from '../../src/store/schema.js';
import { sqlitePath } from '../../src/store/sqlite-path.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

describe('SQLite: a client change while another connection writes', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('sqlite');
    const store = await openMigratedStore(db.url);
    await new ClientRepository(store.db).create(
      { clientId: 'busy', name: 'busy', allowedScopes: [], defaultScopes: [], grantTypes: ['client_credentials'], audience: null, tokenTtl: null, enabled: true, introspect: false, createdAt: Date.now(), updatedAt: Date.now() } as never,
      'hash-0',
    );
    await store.close();
  });
  after(() => db?.drop());

  it('takes the write lock before it reads: the other writer waits, the change commits', async () => {
    const path = sqlitePath(db.url)!;
    const other = new SQLite(path);
    other.pragma('busy_timeout = 0');
    let otherWrite: string | undefined;
    // After the change's first statement, another connection commits a write.
    const interleave: KyselyPlugin = {
      transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => args.node,
      transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
        if (otherWrite === undefined) {
          try {
            other.prepare("insert into changes (kind, subject, created_at) values ('client', 'other', ?)").run(Date.now());
            otherWrite = 'committed';
          } catch (err) {
            otherWrite = (err as Error).message;
          }
        }
        return args.result;
      },
    };
    const raw = new SQLite(path);
    raw.pragma('busy_timeout = 5000');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }), plugins: [interleave] });
    try {
      const seq = await new ClientRepository(kysely).addSecret('busy', 'hash-1', Date.now() + 60_000, Date.now());
      assert.ok(seq !== undefined && seq > 0, 'the rotation committed');
      assert.match(otherWrite ?? '', /locked|busy/i, 'the other writer met the lock the change held from its start');
    } finally {
      await kysely.destroy();
      other.close();
    }
  });
});
