/**
 * D1 and an RFC 6749 client on one server: each client may have its own expires_in format and
 * expires_at, the others get the server's (D1AUTHZ_EXPIRES_IN_FORMAT, D1AUTHZ_EXPIRES_AT), and the
 * metadata says which that is. Through real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const metadata = async (server: TestServer) => (await fetch(`${server.origin}/.well-known/oauth-authorization-server/authz/d1/v1`)).json();

describe('per-client token response shape, server defaults (contract: string, expires_at on)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.close());

  it('a client without its own shape gets the contract: expires_in "900" and expires_at', async () => {
    const d1 = await server.createClient('d1', { scopes: ['consumer'] });
    const r = await server.token(d1.clientId, d1.clientSecret);
    assert.equal(r.status, 200);
    assert.equal(r.json.expires_in, '900');
    assert.match(r.json.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('an RFC 6749 client set to number / off gets a number and no expires_at from the same server', async () => {
    const rfc = await server.createClient('rfc6749', { expiresInFormat: 'number', expiresAt: false, ttl: 300 });
    const r = await server.token(rfc.clientId, rfc.clientSecret);
    assert.equal(r.status, 200);
    assert.equal(r.json.expires_in, 300);
    assert.equal('expires_at' in r.json, false);
    assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'token_type']);
  });

  it('resetting the client to the server default (null) gives it the contract shape again', async () => {
    const c = await server.createClient('switches', { expiresInFormat: 'number', expiresAt: false });
    assert.equal((await server.token(c.clientId, c.clientSecret)).json.expires_in, 900);
    await server.app.clients.update('switches', { expiresInFormat: null, expiresAt: null });
    await waitFor('the reset to reach the node', async () => {
      const r = await server.token(c.clientId, c.clientSecret);
      return r.json.expires_in === '900' && typeof r.json.expires_at === 'string';
    }, 5_000);
  });

  it('the metadata says the default shape', async () => {
    const m = await metadata(server);
    assert.equal(m.expires_in_format_default, 'string');
    assert.equal(m.expires_at_default, true);
  });
});

describe('per-client token response shape, server set to RFC 6749 (number, expires_at off)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ expiresInFormat: 'number', expiresAt: 'off' });
  });
  after(() => server?.close());

  it('clients get the server shape unless set to the contract one', async () => {
    const plain = await server.createClient('plain');
    const d1 = await server.createClient('d1', { expiresInFormat: 'string', expiresAt: true });
    const p = await server.token(plain.clientId, plain.clientSecret);
    assert.equal(p.json.expires_in, 900);
    assert.equal('expires_at' in p.json, false);
    const d = await server.token(d1.clientId, d1.clientSecret);
    assert.equal(d.json.expires_in, '900');
    assert.equal(typeof d.json.expires_at, 'string');
    const m = await metadata(server);
    assert.equal(m.expires_in_format_default, 'number');
    assert.equal(m.expires_at_default, false);
  });
});
