/** A real `d1-authz serve` process: first start on the embedded store, restart persistence, graceful drain, what it logs. */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, testStore, type TestDatabase } from '../helpers/database.js';
import { cliEnv, runCli, spawnServe } from '../helpers/process.js';
import { basicAuth } from '../helpers/server.js';
import { freePort } from '../helpers/free-port.js';
import { sleep } from '../helpers/wait.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('serve lifecycle', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'));
    // The embedded default generates its own key file; PostgreSQL requires a configured key.
    if (testStore === 'sqlite') delete env.D1AUTHZ_MASTER_KEY;
    else assert.equal((await runCli(['migrate'], env)).code, 0);
  });
  after(() => db.drop());

  it('first start (embedded: generates a master key file, 0600), tells how to create a client, persists across restarts, drains on SIGTERM', async () => {
    const port = await freePort();
    const tokenAt = (origin: string, id: string, secret: string) =>
      fetch(`${origin}/authz/d1/v1/oauth2/token`, { method: 'POST', headers: { ...FORM, authorization: basicAuth(id, secret) }, body: 'grant_type=client_credentials' });

    let serve = await spawnServe(env, port);
    await sleep(200);
    assert.match(serve.output(), /no client yet\. Create one:/);
    if (testStore === 'sqlite') {
      assert.match(serve.output(), /generated a master key/);
      const keyFile = join(db.dir, 'master.key');
      assert.ok(existsSync(keyFile));
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    }

    const created = JSON.parse((await runCli(['client', 'create', 'persist', '--json'], env)).stdout);
    const first = await (await tokenAt(serve.origin, 'persist', created.client_secret)).json();
    const kid1 = JSON.parse(Buffer.from(first.access_token.split('.')[0], 'base64url').toString()).kid;
    assert.equal(await serve.stop('SIGTERM'), 0);

    serve = await spawnServe(env, port);
    try {
      const res = await tokenAt(serve.origin, 'persist', created.client_secret);
      assert.equal(res.status, 200, 'client and secret survive a restart');
      const again = await res.json();
      assert.equal(JSON.parse(Buffer.from(again.access_token.split('.')[0], 'base64url').toString()).kid, kid1, 'the signing key survives a restart');

      // Graceful drain: a request in flight (a cold secret check takes a slow hash) completes after SIGTERM.
      const fresh = JSON.parse((await runCli(['client', 'create', 'drain', '--json'], env)).stdout);
      await sleep(300);
      const inflight = tokenAt(serve.origin, 'drain', fresh.client_secret);
      await sleep(30);
      const exit = serve.stop('SIGTERM');
      assert.equal((await inflight).status, 200);
      assert.equal(await exit, 0);

      // Nothing secret in what the process wrote.
      for (const s of [created.client_secret, fresh.client_secret, first.access_token, again.access_token]) {
        assert.ok(!serve.output().includes(s), 'a secret or token reached the log');
      }
    } finally {
      await serve.stop('SIGKILL');
    }
    // Private keys are encrypted at rest.
    const store = openStore(db.url);
    const rows = await store.db.selectFrom('signing_keys').select('private_key_enc').execute();
    await store.close();
    assert.ok(rows.length >= 1);
    for (const r of rows) {
      assert.match(r.private_key_enc!, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.ok(!Buffer.from(r.private_key_enc!.split('.')[3]!, 'base64url').toString().includes('PRIVATE KEY'));
    }
  });
});
