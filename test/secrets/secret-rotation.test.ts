import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep, waitFor } from '../helpers/wait.js';

// The server learns of a change on its next sync (100 ms in tests). Poll for the expected answer with a bound
// rather than sleeping a fixed delay that a loaded CI machine can overrun.
const SYNC_BOUND_MS = 3_000;

describe('client secret rotation with a grace period', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());
  const answers = (id: string, secret: string, status: number) =>
    waitFor(`${id} to get ${status}`, async () => (await server.token(id, secret)).status === status && true, SYNC_BOUND_MS);

  it('the new secret works at once, the old one until the grace period ends, even when cached', async () => {
    const { clientSecret: oldSecret } = await server.createClient('d1', {});
    assert.equal((await server.token('d1', oldSecret)).status, 200); // now in the verified-credential cache

    const { clientSecret: newSecret, oldSecretsExpireAt } = await server.app.clients.rotateSecret('d1', 5);
    assert.notEqual(newSecret, oldSecret);
    assert.equal(newSecret.length, 43);
    await answers('d1', newSecret, 200);
    assert.equal((await server.token('d1', oldSecret)).status, 200);

    await sleep(Date.parse(oldSecretsExpireAt) - Date.now() + 100);
    assert.equal((await server.token('d1', oldSecret)).status, 401, 'old secret refused after the grace period');
    assert.equal((await server.token('d1', newSecret)).status, 200);
  });

  it('a rotation with no grace refuses the old secret once the node has synced', async () => {
    const { clientSecret: oldSecret } = await server.createClient('d2', {});
    assert.equal((await server.token('d2', oldSecret)).status, 200);
    await server.app.clients.rotateSecret('d2', 0);
    await answers('d2', oldSecret, 401);
  });

  it('a disabled client is refused once the node has synced, though its secret is cached', async () => {
    const { clientSecret } = await server.createClient('d3', {});
    assert.equal((await server.token('d3', clientSecret)).status, 200);
    await server.app.clients.setEnabled('d3', false);
    await answers('d3', clientSecret, 401);
    await server.app.clients.setEnabled('d3', true);
    await answers('d3', clientSecret, 200);
  });

  it('refuses a short imported secret unless forced, and never stores a secret in clear', async () => {
    await assert.rejects(server.app.clients.create('short', {}, { secret: 'abc' }), /shorter than 32/);
    await server.createClient('short', {}, { secret: 'abc', force: true });
    const rows = await server.app.store.db.selectFrom('client_secrets').select('secret_hash').execute();
    for (const row of rows) assert.match(row.secret_hash, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]{43}$/);
    assert.ok(!rows.some((r) => r.secret_hash.includes('abc')));
  });
});
