/**
 * The documented lockout settings, read from running servers: by default the eleventh failure is
 * refused (D1AUTHZ_LOCKOUT_THRESHOLD 10) with Retry-After 30 (D1AUTHZ_LOCKOUT_WINDOW 300 / 10), a
 * lock grows to at most 3600 s (D1AUTHZ_LOCKOUT_MAX); D1AUTHZ_LOCKOUT=false turns it off; a value
 * that is not a boolean stops start-up naming the setting.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase } from '../helpers/database.js';
import { tokenFrom } from '../helpers/from-address.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const guess = (s: TestServer, i: number, from = '127.0.0.2') => tokenFrom(from, s.tokenUrl, 'd1', `guess-${i}-${'x'.repeat(32)}`);

describe('lockout defaults', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ scryptCost: 14 });
    await server.createClient('d1');
  });
  after(() => server?.close());

  it('ten failures within the window, then 429 with Retry-After 30', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await guess(server, i)).status, 401, `failure ${i + 1}`);
    const res = await guess(server, 10);
    assert.equal(res.status, 429);
    assert.equal(res.headers['retry-after'], '30');
  });

  it('a lock that keeps doubling stops at 3600 s; failures older than 300 s are not counted', async () => {
    const store = openStore(server.database.url);
    const now = Date.now();
    // A long history from 127.0.0.3: a 2048 s lock that has just ended.
    await store.db
      .insertInto('lockouts')
      .values({ key: 'c 127.0.0.3 d1', address: '127.0.0.3', client_id: 'd1', failures: 0, window_start: now - 2_050_000, lock_ms: 2_048_000, locked_until: now - 1000, last_failure_at: now - 2_050_000 })
      .execute();
    // 127.0.0.4: nine failures, the first of them 301 s ago.
    await store.db
      .insertInto('lockouts')
      .values({ key: 'c 127.0.0.4 d1', address: '127.0.0.4', client_id: 'd1', failures: 9, window_start: now - 301_000, lock_ms: 0, locked_until: 0, last_failure_at: now - 1000 })
      .execute();
    await store.close();
    assert.equal((await guess(server, 20, '127.0.0.3')).status, 401, 'the failure after the lock is verified');
    const capped = await guess(server, 21, '127.0.0.3');
    assert.equal(capped.status, 429);
    assert.ok(Number(capped.headers['retry-after']) <= 3600 && Number(capped.headers['retry-after']) >= 3590, `capped at 3600 s: ${capped.headers['retry-after']}`);
    assert.equal((await guess(server, 22, '127.0.0.4')).status, 401, 'the tenth failure, but the window started over');
    assert.equal((await guess(server, 23, '127.0.0.4')).status, 401);
  });
});

describe('D1AUTHZ_LOCKOUT', () => {
  it('false: no lock however many failures', async () => {
    const server = await startTestServer({ scryptCost: 14, lockout: 'false' as unknown as boolean, lockoutThreshold: 2 });
    try {
      await server.createClient('d1');
      for (let i = 0; i < 5; i++) assert.equal((await guess(server, i)).status, 401);
    } finally {
      await server.close();
    }
  });

  it('not a boolean: start-up stops with exit 2, naming it', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const r = await runCli(['serve'], { ...cliEnv(db.url, randomBytes(32).toString('base64')), D1AUTHZ_LOCKOUT: 'maybe', D1AUTHZ_PORT: '0' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /D1AUTHZ_LOCKOUT \(lockout\)/);
    } finally {
      await db.drop();
    }
  });
});
