/**
 * An acknowledged write survives the processes being killed right after the acknowledgement:
 * the CLI is SIGKILLed the moment its answer reaches stdout, the server the moment its HTTP answer
 * arrives, then a new `serve` finds the write. Runs on D1AUTHZ_TEST_STORE (both stores in CI).
 * (SIGKILL tests commit-before-acknowledge; power loss additionally needs the data flushed to disk,
 * which synchronous=FULL does for SQLite, and fsync at commit does for PostgreSQL.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, testStore, type TestDatabase } from '../helpers/database.js';
import { BASE_PATH, httpCall, jwksKids, kidOf, tokenAt } from '../helpers/http.js';
import { cliEnv, runCli, runCliKilledAfterAck, spawnServe, type ServeProcess } from '../helpers/process.js';
import { basicAuth } from '../helpers/server.js';
import { freePort } from '../helpers/free-port.js';

const completeJson = (stdout: string) => {
  try {
    JSON.parse(stdout);
    return true;
  } catch {
    return false;
  }
};

describe(`durability on ${testStore}: kill -9 right after the acknowledgement`, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let port: number;
  let serve: ServeProcess | undefined;
  const start = async () => (serve = await spawnServe(env, port, ['--workers', '1']));
  const kill = async () => {
    await serve?.stop('SIGKILL');
    serve = undefined;
  };
  /** The CLI, SIGKILLed as soon as its JSON answer is complete; the server killed at the same moment. */
  const cliKilled = async (args: string[]) => {
    const r = await runCliKilledAfterAck(args, env, completeJson);
    await kill();
    assert.ok(r.killed, `the CLI was killed after acknowledging (${r.stderr})`);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_SCRYPT_COST: '14' });
    port = await freePort();
    assert.equal((await runCli(['migrate'], env)).code, 0); // CLI commands use an existing store, they never create one
  });
  after(async () => {
    await kill();
    await db.drop();
  });

  if (testStore === 'sqlite') {
    it('SQLite runs in WAL mode with synchronous=FULL', async () => {
      const store = openStore(db.url);
      try {
        const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
        const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
        assert.equal(mode.rows[0]!.journal_mode, 'wal');
        assert.equal(sync.rows[0]!.synchronous, 2, 'FULL');
      } finally {
        await store.close();
      }
    });
  }

  it('the first signing key, a client, a secret rotation, a key rotation, a disable and a revocation survive', async () => {
    // The first key and the standby: written before the server listens; killed as soon as it answers.
    await start();
    const firstKids = (await jwksKids(serve!.origin)).sort();
    assert.equal(firstKids.length, 2, 'the signing key and the standby key are published');
    await kill();
    await start();
    assert.deepEqual((await jwksKids(serve!.origin)).sort(), firstKids, 'the first key and the standby survived');

    const created = await cliKilled(['client', 'create', 'durable', '--json']);
    const rs = await cliKilled(['client', 'create', 'rs', '--introspect', '--no-tokens', '--json']);
    await start();
    const token = await tokenAt(serve!.origin, 'durable', created.client_secret);
    assert.equal(token.status, 200, 'the client survived');
    assert.ok(firstKids.includes(kidOf(token.json.access_token)), 'signed by a first key');

    const rotated = await cliKilled(['client', 'rotate-secret', 'durable', '--json']);
    await start();
    assert.equal((await tokenAt(serve!.origin, 'durable', rotated.client_secret)).status, 200, 'the new secret survived');

    const key = await cliKilled(['keys', 'rotate', '--activate-in', '3600', '--json']);
    await start();
    assert.deepEqual((await jwksKids(serve!.origin)).sort(), [...firstKids, key.kid].sort(), 'the new key survived');

    // Revocation through the server: acknowledged by its 200, then the server is killed at once.
    const victim = (await tokenAt(serve!.origin, 'durable', rotated.client_secret)).json.access_token as string;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const introspect = () =>
      httpCall(`${serve!.origin}${BASE_PATH}/oauth2/introspect`, { method: 'POST', headers: { ...form, authorization: basicAuth('rs', rs.client_secret) }, body: `token=${victim}` });
    assert.equal((await introspect()).json.active, true);
    const revoked = await httpCall(`${serve!.origin}${BASE_PATH}/oauth2/revoke`, {
      method: 'POST',
      headers: { ...form, authorization: basicAuth('durable', rotated.client_secret) },
      body: `token=${victim}`,
    });
    assert.equal(revoked.status, 200);
    await kill();
    await start();
    assert.deepEqual((await introspect()).json, { active: false }, 'the revocation survived');

    // disable acknowledges with its exit status only.
    const disabled = await runCli(['client', 'disable', 'durable'], env);
    assert.equal(disabled.code, 0, disabled.stderr);
    await kill();
    await start();
    assert.equal((await tokenAt(serve!.origin, 'durable', rotated.client_secret)).status, 401, 'the disable survived');
    assert.equal(await serve!.stop('SIGTERM'), 0);
    serve = undefined;
  });
});
