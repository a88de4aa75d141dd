/**
 * Regression: a client disabled, then enabled again. A token issued after the enable must be active at
 * once on the node that issued it, even when that node read the enabled record from the store (a cache
 * miss: first sight, or the record's TTL ran out) before its change feed read the enable's new cut-off.
 * The feed is driven by hand (60 s interval), so the order of events is fixed, not raced.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { accessToken, introspect, type Caller } from '../helpers/token-status.js';

describe('a client enabled again: its new tokens are active at once', () => {
  let server: TestServer;
  let rs: Caller;
  let d1: Caller;
  before(async () => {
    server = await startTestServer({ syncIntervalMs: 60_000, keyActivationDelay: 300 });
    rs = await server.createClient('resource-server', { introspect: true, tokens: false });
    d1 = await server.createClient('flip', { scopes: ['consumer'] });
  });
  after(() => server.close());

  it('answers active for a token issued from a store read made before the feed saw the enable', async () => {
    const old = await accessToken(server, d1);
    await server.app.clients.setEnabled('flip', false);
    await server.app.feed.poll();
    assert.deepEqual((await introspect(server, rs, old)).json, { active: false }, 'the disable reached this node');
    assert.equal((await server.token(d1.clientId, d1.clientSecret)).status, 401);

    await server.app.clients.setEnabled('flip', true);
    // As when the cached record's TTL runs out before the feed's next poll: the next request reads the store.
    server.app.directory.invalidate('flip');
    const fresh = await accessToken(server, d1);
    assert.equal((await introspect(server, rs, fresh)).json.active, true, 'a token issued after the enable is active');
    assert.deepEqual((await introspect(server, rs, old)).json, { active: false }, 'a token from before the disable stays dead');
  });
});
