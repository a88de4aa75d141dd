/**
 * With D1AUTHZ_REDIS_URL the lockout counters live in Redis (the real one on 127.0.0.1:6379, a
 * database of this test's own): two servers on two different stores share one lock through it,
 * the store's table stays empty, the CLI lists and clears it, and a Redis that does not answer
 * fails the lockout open without failing or delaying any client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { openStore } from '../../src/store/database.js';
import { tokenFrom } from '../helpers/from-address.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const REDIS_URL = `redis://127.0.0.1:6379/${1 + Math.floor(Math.random() * 15)}`;
const ATTACKER = '127.0.0.2';

describe('lockout counters in Redis', () => {
  let redis: Redis;
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    redis = new Redis(REDIS_URL);
    const stale = await redis.keys('d1authz:lockout:*');
    if (stale.length) await redis.del(...stale);
    const settings = { scryptCost: 14, redisUrl: REDIS_URL, lockoutThreshold: 3, lockoutWindow: 120, lockoutMax: 600 };
    a = await startTestServer(settings);
    b = await startTestServer(settings);
    for (const s of [a, b]) await s.createClient('d1', {}, { secret: 'd'.repeat(43) });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    const keys = await redis.keys('d1authz:lockout:*');
    if (keys.length) await redis.del(...keys);
    redis?.disconnect();
  });

  const guess = (s: TestServer, i: number) => tokenFrom(ATTACKER, s.tokenUrl, 'd1', `guess-${i}-${'x'.repeat(32)}`);

  it('share one lock between servers that share nothing but Redis; the store holds no counter', async () => {
    assert.equal((await guess(a, 0)).status, 401);
    assert.equal((await guess(b, 1)).status, 401);
    assert.equal((await guess(a, 2)).status, 401);
    const locked = await guess(b, 3);
    assert.equal(locked.status, 429);
    assert.equal(locked.headers['retry-after'], '40');
    assert.equal((await guess(a, 4)).status, 429);
    assert.equal(await redis.hget(`d1authz:lockout:c ${ATTACKER} d1`, 'lock_ms'), '40000');
    assert.ok((await redis.pttl(`d1authz:lockout:c ${ATTACKER} d1`)) > 600_000, 'a counter expires by itself once it can no longer matter');
    for (const s of [a, b]) {
      const store = openStore(s.database.url);
      assert.deepEqual(await store.db.selectFrom('lockouts').selectAll().execute(), []);
      await store.close();
    }
  });

  it('is listed and cleared by the CLI', async () => {
    const env = cliEnv(a.database.url, a.masterKey, { D1AUTHZ_REDIS_URL: REDIS_URL, D1AUTHZ_LOCKOUT_WINDOW: '120' });
    const list = await runCli(['lockout', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const pair = JSON.parse(list.stdout).find((r: any) => r.client_id === 'd1');
    assert.deepEqual([pair.address, pair.locked], [ATTACKER, true]);
    const clear = await runCli(['lockout', 'clear', 'd1', '--json'], env);
    assert.equal(clear.code, 0, clear.stderr);
    assert.deepEqual(JSON.parse(clear.stdout), { cleared: 1 });
    assert.equal(await redis.exists(`d1authz:lockout:c ${ATTACKER} d1`), 0);
  });
});

describe('lockout counters in a Redis that does not answer', () => {
  let server: TestServer;
  before(async () => {
    // Nothing listens on this port: every counter read and write fails at once.
    server = await startTestServer({ scryptCost: 14, redisUrl: 'redis://127.0.0.1:1/0', lockoutThreshold: 2 });
    await server.createClient('d1', {}, { secret: 'd'.repeat(43) });
  });
  after(() => server?.close());

  it('fails open: guesses are verified as usual (401), the valid client gets its token, the outage is logged once', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await tokenFrom(ATTACKER, server.tokenUrl, 'd1', `guess-${i}-${'x'.repeat(32)}`)).status, 401);
    const res = await tokenFrom(ATTACKER, server.tokenUrl, 'd1', 'd'.repeat(43));
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.ok(res.ms < 10_000);
    const warned = server.logs.filter((l) => l.includes('lockout: cannot read or write the counters'));
    assert.equal(warned.length, 1, 'one warning per outage, not one per request');
  });
});
