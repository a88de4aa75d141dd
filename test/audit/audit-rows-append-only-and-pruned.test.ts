/**
 * audit_events is append-only in the store itself (a trigger refuses UPDATE, and DELETE of rows
 * younger than the retention floor), and the running server prunes rows past
 * D1AUTHZ_AUDIT_RETENTION_DAYS (default 400) while keeping the younger ones.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/database.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const DAY = 86_400_000;

describe('audit rows: append-only, pruned past retention by the running server', () => {
  let server: TestServer;
  let store: Store;
  const insert = (id: string, daysAgo: number) =>
    store.db
      .insertInto('audit_events')
      .values({ at: Date.now() - daysAgo * DAY, type: 'client.updated', actor: 'test', client_id: id, address: null, correlation_id: null, details: '{}' })
      .execute();
  const ids = async () => (await store.db.selectFrom('audit_events').select('client_id').where('actor', '=', 'test').execute()).map((r) => r.client_id).sort();

  before(async () => {
    // A first server migrates the store; the rows go in; a second server on it (default retention) prunes at start.
    const first = await startTestServer();
    const database = first.database;
    store = openStore(database.url);
    await insert('older-than-400-days', 401);
    await insert('older-than-399-days', 399);
    await insert('yesterday', 1);
    await first.app.close();
    server = await startTestServer({}, { database, masterKey: first.masterKey });
  });
  after(async () => {
    await store?.close();
    await server?.close();
    await server?.database.drop();
  });

  it('the server prunes rows older than 400 days (the default) and keeps the younger ones', async () => {
    await waitFor('the 401-day-old row to be pruned', async () => !(await ids()).includes('older-than-400-days'), 30_000, 200);
    assert.deepEqual(await ids(), ['older-than-399-days', 'yesterday']);
  });

  it('refuses UPDATE of any row', async () => {
    await assert.rejects(sql`update audit_events set type = 'forged' where client_id = 'yesterday'`.execute(store.db), /append-only/);
    await assert.rejects(sql`update audit_events set type = 'forged' where client_id = 'older-than-399-days'`.execute(store.db), /append-only/);
  });

  it('refuses DELETE of a row younger than the 30-day floor, even by the table owner', async () => {
    await assert.rejects(sql`delete from audit_events where client_id = 'yesterday'`.execute(store.db), /append-only|kept at least 30 days/);
    assert.deepEqual(await ids(), ['older-than-399-days', 'yesterday']);
  });
});
