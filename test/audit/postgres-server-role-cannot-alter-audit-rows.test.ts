/**
 * The least-privileged PostgreSQL role of docs/operations.md: a server running as a role given exactly
 * the GRANTs documented there (read from the document, so the two cannot drift apart) serves tokens
 * and writes its audit rows, prunes through the migration's function, and can neither update nor
 * delete an audit row. PostgreSQL only: SQLite has no roles (its trigger is tested with the store).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { openStore, type Store } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { tokenAt } from '../helpers/http.js';
import { freePort } from '../helpers/free-port.js';
import { migrateDatabase } from '../helpers/migrated-store.js';

/** The GRANT/REVOKE statements of the least-privilege block, for `role`. */
function documentedGrants(role: string): string[] {
  const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const block = doc.slice(doc.indexOf('-- as d1authz_owner'));
  const sqlBlock = block.slice(0, block.indexOf('```'));
  return sqlBlock
    .split('\n')
    .map((l) => l.replace(/--.*$/, '').trim())
    .filter((l) => /^(grant|revoke) /.test(l))
    .map((l) => l.replaceAll('d1authz_server', role));
}

describe('PostgreSQL: the documented server role cannot alter the audit trail', () => {
  let db: TestDatabase;
  let app: App;
  let asServer: Store;
  const role = `d1authz_srv_${randomBytes(4).toString('hex')}`;
  const masterKey = randomBytes(32).toString('base64');
  let secret = '';

  before(async () => {
    db = await createTestDatabase('postgres');
    await migrateDatabase(db.url);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query(`create role ${role} login`);
      const grants = documentedGrants(role);
      assert.ok(grants.length >= 8, `the GRANTs were found in docs/operations.md: ${grants.length}`);
      for (const statement of grants) await admin.query(statement);
    } finally {
      await admin.end();
    }
    const url = new URL(db.url);
    url.username = role;
    const config = loadConfig({ databaseUrl: url.toString(), masterKey, port: await freePort(), scryptCost: 14, syncIntervalMs: 100 }, {});
    app = await createApp(config, { logStream: { write: () => true } });
    await app.listen();
    secret = (await app.clients.create('least-privilege', {})).clientSecret;
    asServer = openStore(url.toString());
  });
  after(async () => {
    await asServer?.close();
    await app?.close();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`drop owned by ${role}`).catch(() => {});
    await admin.end();
    await db.drop();
    const cleanup = new pg.Client({ connectionString: new URL('/test', db.url).toString() });
    await cleanup.connect().then(() => cleanup.query(`drop role if exists ${role}`)).finally(() => cleanup.end());
  });

  it('serves tokens and writes their audit rows as that role', async () => {
    const res = await tokenAt(`http://127.0.0.1:${app.config.port}`, 'least-privilege', secret);
    assert.equal(res.status, 200);
    await app.audit!.flush();
    const rows = await asServer.db.selectFrom('audit_events').select('type').execute();
    assert.ok(rows.some((r) => r.type === 'token.issued'));
    assert.ok(rows.some((r) => r.type === 'client.created'));
  });

  it('may prune through the function, and cannot UPDATE or DELETE audit rows', async () => {
    assert.equal(await app.audit!.prune(), 0);
    await assert.rejects(sql`update audit_events set type = 'forged'`.execute(asServer.db), /permission denied/);
    await assert.rejects(sql`delete from audit_events`.execute(asServer.db), /permission denied/);
    await assert.rejects(sql`truncate audit_events`.execute(asServer.db), /permission denied/);
  });
});
