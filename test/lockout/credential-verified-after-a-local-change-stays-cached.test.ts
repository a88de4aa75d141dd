/**
 * A change made through this process (admin API, apply) drops the client's cached state at once. The
 * change feed later reads the same change from the store; it must not drop again what was verified
 * after the change, or a client verified in between loses its cached credential: it pays the slow
 * hash again and, while its own address is locked by a guesser, is refused 429 with the right secret.
 * The feed's timer is pushed out of the way (30 s) and the poll is run by hand, after the token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenFrom } from '../helpers/from-address.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SHARED = '127.0.0.2';

describe('a credential verified after a change made here, once the feed reads that change', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ scryptCost: 14, syncIntervalMs: 30_000, lockoutThreshold: 3, lockoutWindow: 120, lockoutMax: 600 });
  });
  after(() => server?.close());

  it('stays cached: the real client keeps its tokens while a guesser holds its address locked', async () => {
    const d1 = await server.createClient('d1');
    assert.equal((await tokenFrom(SHARED, server.tokenUrl, 'd1', d1.clientSecret)).status, 200, 'verified after the creation: now cached');
    // The feed reads the creation it was told of already.
    await server.app.feed.poll();
    for (let i = 0; i < 3; i++) assert.equal((await tokenFrom(SHARED, server.tokenUrl, 'd1', `guess-${i}-${'x'.repeat(32)}`)).status, 401);
    assert.equal((await tokenFrom(SHARED, server.tokenUrl, 'd1', 'guess-3-' + 'x'.repeat(32))).status, 429, 'the guesses are locked out');
    const real = await tokenFrom(SHARED, server.tokenUrl, 'd1', d1.clientSecret);
    assert.equal(real.status, 200, `the real client's credential is still cached: ${JSON.stringify(real.json)}`);
  });

  it('is still dropped by a change the feed brings from elsewhere (another node, the CLI)', async () => {
    const d2 = await server.createClient('d2');
    assert.equal((await tokenFrom('127.0.0.3', server.tokenUrl, 'd2', d2.clientSecret)).status, 200);
    await server.app.feed.poll();
    // Another process disables d2: only the feed tells this one.
    await server.app.repos.clients.setEnabled('d2', false, Date.now());
    await server.app.feed.poll();
    const res = await tokenFrom('127.0.0.3', server.tokenUrl, 'd2', d2.clientSecret);
    assert.equal(res.status, 401, `the cached credential and record were dropped: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.error, 'invalid_client');
  });
});
