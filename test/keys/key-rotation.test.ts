import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';

describe('signing key rotation', () => {
  let server: TestServer;
  const secret = 'k'.repeat(32);
  const jwks = async (): Promise<JSONWebKeySet> => (await fetch(server.jwksUrl)).json() as Promise<JSONWebKeySet>;
  let standbyKid = '';
  // The pre-published standby key stays in the JWKS throughout; what rotation changes are the others.
  const kids = async () => (await jwks()).keys.map((k) => k.kid).filter((kid) => kid !== standbyKid);
  const token = async () => (await server.token('rot', secret)).json.access_token as string;
  // What is pinned here is which key signed and that it verifies; expiry is not (a loaded machine may cross exp).
  const verify = async (t: string) => jwtVerify(t, createLocalJWKSet(await jwks()), { issuer: server.issuer, typ: 'at+jwt', clockTolerance: 30 });

  before(async () => {
    // Short lifetimes so a whole rotation fits in a few seconds: tokens live 2 s, keys retire 3 s after hand-over.
    // (An activation delay this short is below the multi-node safety bound: fine for one node.)
    server = await startTestServer({ tokenTtl: 2, maxTokenTtl: 3, clockSkew: 0 });
    await server.createClient('rot', {}, { secret });
    standbyKid = (await server.app.keys.list()).find((k) => k.state === 'standby')!.kid;
    assert.ok((await jwks()).keys.some((k) => k.kid === standbyKid), 'the standby key is published');
  });
  after(() => server.close());

  it('publishes the new key before it signs, verifies both during the overlap, then retires the old one', async () => {
    const t1 = await token();
    const oldKid = decodeProtectedHeader(t1).kid!;
    assert.deepEqual(await kids(), [oldKid]);

    const rotated = await server.app.keys.rotate({ activateInSeconds: 1 });
    const activateAt = Date.parse(rotated.activateAt!);
    await sleep(300); // one sync interval: the node learns of the new key through the change feed
    assert.deepEqual((await kids()).sort(), [oldKid, rotated.kid].sort(), 'new key published before it signs');
    const t2 = await token();
    assert.equal(decodeProtectedHeader(t2).kid, oldKid, 'the old key still signs during the publication delay');

    await sleep(activateAt - Date.now() + 50);
    const t3 = await token();
    assert.equal(decodeProtectedHeader(t3).kid, rotated.kid, 'the new key signs after activation');
    for (const t of [t1, t2, t3]) await verify(t);
    assert.deepEqual((await kids()).sort(), [oldKid, rotated.kid].sort(), 'the old key stays published while its tokens live');

    const states = Object.fromEntries((await server.app.keys.list()).map((k) => [k.kid, k.state]));
    assert.deepEqual(states, { [oldKid]: 'published', [rotated.kid]: 'signing', [standbyKid]: 'standby' });

    await sleep(activateAt + 3000 - Date.now() + 100);
    assert.deepEqual(await kids(), [rotated.kid], 'retired once every token it signed has expired');
  });
});
