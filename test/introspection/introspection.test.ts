/** RFC 7662 token introspection through real HTTP: every active/inactive case, caller authorization, bad input. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.js';
import {
  accessToken,
  decodePayload,
  endpoints,
  form,
  introspect,
  postForm,
  revoke,
  type Caller,
} from '../helpers/token-status.js';
import { eventually, sleep } from '../helpers/wait.js';

describe('POST /oauth2/introspect (RFC 7662)', () => {
  let server: TestServer;
  let rs: Caller;
  let app: Caller;
  let plain: Caller;

  before(async () => {
    server = await startTestServer();
    rs = await server.createClient('resource-server', { introspect: true, tokens: false });
    app = await server.createClient('d1-app', { scopes: ['consumer', 'otp'], defaultScopes: ['consumer'] });
    plain = await server.createClient('no-introspect', { scopes: ['consumer'] });
  });
  after(() => server?.close());

  it('answers an active token with the RFC 7662 §2.2 members, from the token itself, uncached', async () => {
    const token = await accessToken(server, app, { grant_type: 'client_credentials', scope: 'consumer otp' });
    const res = await introspect(server, rs, token);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const claims = decodePayload(token);
    assert.deepEqual(res.json, {
      active: true,
      client_id: 'd1-app',
      sub: 'd1-app',
      scope: 'consumer otp',
      exp: claims.exp,
      iat: claims.iat,
      iss: server.issuer,
      aud: 'd1-issuer-api',
      jti: claims.jti,
      token_type: 'Bearer',
    });
  });

  it('ignores token_type_hint (one token type only), whatever its value', async () => {
    const token = await accessToken(server, app);
    for (const hint of ['access_token', 'refresh_token', 'something_else']) {
      const res = await introspect(server, rs, token, { token_type_hint: hint });
      assert.equal(res.status, 200);
      assert.equal(res.json.active, true, hint);
    }
  });

  it('answers exactly {"active":false} for malformed tokens', async () => {
    const token = await accessToken(server, app);
    const [h, p, s] = token.split('.') as [string, string, string];
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: decodeHeader(token).kid })).toString('base64url');
    const hsHeader = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: decodeHeader(token).kid })).toString('base64url');
    const otherPayload = Buffer.from(JSON.stringify({ ...decodePayload(token), scope: 'otp admin' })).toString('base64url');
    const cases = [
      'not-a-jwt',
      'a.b.c',
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${noneHeader}.${p}.`,
      `${hsHeader}.${p}.${s}`,
      `${h}.${otherPayload}.${s}`, // tampered claims
      `${h}.${p}.${s.slice(0, -4)}AAAA`, // tampered signature
      '%%%',
      'x'.repeat(3000),
    ];
    for (const bad of cases) {
      const res = await introspect(server, rs, bad);
      assert.equal(res.status, 200, bad.slice(0, 40));
      assert.deepEqual(res.json, { active: false }, bad.slice(0, 40));
    }
  });

  it('answers {"active":false} for a token signed by another server or another key', async () => {
    const other = await startTestServer();
    try {
      const foreignClient = await other.createClient('d1-app', { scopes: ['consumer'] }, { secret: app.clientSecret });
      const foreign = await accessToken(other, foreignClient);
      assert.deepEqual((await introspect(server, rs, foreign)).json, { active: false }, 'another d1-authz instance');
    } finally {
      await other.close();
    }
    // Same kid and claims as a real token, signed by an attacker's key.
    const real = await accessToken(server, app);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(decodePayload(real)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeHeader(real).kid }).sign(privateKey);
    assert.deepEqual((await introspect(server, rs, forged)).json, { active: false }, 'forged signature');
  });

  it('answers {"active":false} once the token has expired', async () => {
    // exp is whole seconds: a 1 s token issued late in a second has almost no life left. With 3 s it has
    // at least 2 s, enough for the first introspection on a slow machine.
    const short = await server.createClient('short-lived', { ttl: 3 });
    const token = await accessToken(server, short);
    assert.equal((await introspect(server, rs, token)).json.active, true);
    await sleep(decodePayload(token).exp * 1000 - Date.now() + 50);
    assert.deepEqual((await introspect(server, rs, token)).json, { active: false });
  });

  it('answers {"active":false} for a revoked token', async () => {
    const token = await accessToken(server, app);
    assert.equal((await revoke(server, app, token)).status, 200);
    assert.deepEqual((await introspect(server, rs, token)).json, { active: false });
  });

  it('a disabled client: its tokens are inactive, and stay so after it is enabled again; new ones are active', async () => {
    const c = await server.createClient('to-disable', { scopes: ['consumer'] });
    const before = await accessToken(server, c);
    await server.app.clients.setEnabled('to-disable', false);
    const delay = await eventually(async () => (await introspect(server, rs, before)).json.active === false, 5000);
    assert.ok(delay < 2000);
    await server.app.clients.setEnabled('to-disable', true);
    await eventually(async () => (await server.token(c.clientId, c.clientSecret)).status === 200, 5000);
    const fresh = await accessToken(server, c);
    assert.deepEqual((await introspect(server, rs, before)).json, { active: false }, 'a token from before the disable stays dead');
    assert.equal((await introspect(server, rs, fresh)).json.active, true, 'a token issued after the enable is active');
  });

  it('a deleted client: its tokens are inactive', async () => {
    const c = await server.createClient('to-delete', { scopes: ['consumer'] });
    const token = await accessToken(server, c);
    assert.equal((await introspect(server, rs, token)).json.active, true);
    await server.app.clients.delete('to-delete');
    await eventually(async () => (await introspect(server, rs, token)).json.active === false, 5000);
    assert.deepEqual((await introspect(server, rs, token)).json, { active: false });
  });

  it('refuses callers without the introspect permission or valid credentials with 401 invalid_client', async () => {
    const token = await accessToken(server, app);
    const callers: [string, Caller | null][] = [
      ['a client without introspect permission', plain],
      ['the token owner itself, without introspect permission', app],
      ['a wrong secret', { clientId: rs.clientId, clientSecret: 'wrong-secret-wrong-secret-wrong-secret' }],
      ['an unknown client', { clientId: 'nobody', clientSecret: 'whatever-whatever-whatever-whatever' }],
      ['no credentials', null],
    ];
    for (const [label, caller] of callers) {
      const res = await introspect(server, caller, token);
      assert.equal(res.status, 401, label);
      assert.equal(res.json.error, 'invalid_client', label);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/, label);
      assert.equal(res.headers.get('cache-control'), 'no-store', label);
    }
  });

  it('a disabled resource-server client is refused; enabled again, it is accepted', async () => {
    const rs2 = await server.createClient('rs-disabled', { introspect: true, tokens: false });
    const token = await accessToken(server, app);
    await server.app.clients.setEnabled('rs-disabled', false);
    await eventually(async () => (await introspect(server, rs2, token)).status === 401, 5000);
    await server.app.clients.setEnabled('rs-disabled', true);
    await eventually(async () => (await introspect(server, rs2, token)).status === 200, 5000);
  });

  it('the introspect permission is granted and withdrawn by update', async () => {
    const c = await server.createClient('rs-toggle', { tokens: false });
    const token = await accessToken(server, app);
    assert.equal((await introspect(server, c, token)).status, 401);
    await server.app.clients.update('rs-toggle', { introspect: true });
    await eventually(async () => (await introspect(server, c, token)).status === 200, 5000);
    await server.app.clients.update('rs-toggle', { introspect: false });
    await eventually(async () => (await introspect(server, c, token)).status === 401, 5000);
  });

  it('answers every malformed request with an RFC 6749 §5.2 error, never a 5xx', async () => {
    const url = endpoints(server).introspect;
    const token = await accessToken(server, app);
    const cases: [string, Promise<import('../helpers/token-status.js').Call>, number, string][] = [
      ['no token parameter', postForm(url, form({ token_type_hint: 'access_token' }), rs), 400, 'invalid_request'],
      ['empty token parameter', postForm(url, 'token=', rs), 400, 'invalid_request'],
      ['empty body', postForm(url, '', rs), 400, 'invalid_request'],
      ['repeated token', postForm(url, `token=${token}&token=${token}`, rs), 400, 'invalid_request'],
      ['bad percent-encoding', postForm(url, 'token=%zz', rs), 400, 'invalid_request'],
      ['JSON body', postForm(url, JSON.stringify({ token }), rs, { 'content-type': 'application/json' }), 400, 'invalid_request'],
      ['wrong charset', postForm(url, form({ token }), rs, { 'content-type': `${'application/x-www-form-urlencoded'}; charset=latin1` }), 400, 'invalid_request'],
      ['secret in the body too', postForm(url, form({ token, client_secret: rs.clientSecret }), rs), 400, 'invalid_request'],
      ['secret in the body only', postForm(url, form({ token, client_id: rs.clientId, client_secret: rs.clientSecret }), null), 401, 'invalid_client'],
      ['another client_id in the body', postForm(url, form({ token, client_id: 'd1-app' }), rs), 400, 'invalid_request'],
      ['a body over the limit', postForm(url, form({ token: 'x'.repeat(10_000) }), rs), 413, 'invalid_request'],
      ['Bearer instead of Basic', postForm(url, form({ token }), null, { authorization: `Bearer ${token}` }), 401, 'invalid_client'],
      ['Basic with garbage', postForm(url, form({ token }), null, { authorization: 'Basic !!!' }), 401, 'invalid_client'],
    ];
    for (const [label, pending, status, error] of cases) {
      const res = await pending;
      assert.equal(res.status, status, label);
      assert.equal(res.json.error, error, label);
      assert.equal(typeof res.json.error_description, 'string', label);
    }
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await fetch(url, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.equal((await res.json()).error, 'invalid_request');
    }
  });

  it('a second node answers from the same store: revocations and disables reach it within the sync interval', async () => {
    // Both nodes serve one issuer (behind one load balancer in production).
    const nodeB = await startTestServer({ issuer: server.issuer }, { database: server.database, masterKey: server.masterKey });
    try {
      const token = await accessToken(server, app);
      assert.equal((await introspect(nodeB, rs, token)).json.active, true, 'node B verifies node A tokens (shared keys)');
      assert.equal((await revoke(server, app, token)).status, 200);
      const ms = await eventually(async () => (await introspect(nodeB, rs, token)).json.active === false, 3000, 10);
      console.log(`# revocation on node A seen by introspection on node B after ${ms.toFixed(0)} ms (sync interval 100 ms)`);
      assert.ok(ms < 1500, `propagation took ${ms} ms`);
    } finally {
      await nodeB.close();
    }
  });

  it('publishes the endpoints in the RFC 8414 metadata', async () => {
    const res = await fetch(`${server.origin}/.well-known/oauth-authorization-server${server.app.config.basePath}`);
    const metadata = await res.json();
    assert.equal(metadata.introspection_endpoint, `${server.issuer}/oauth2/introspect`);
    assert.equal(metadata.revocation_endpoint, `${server.issuer}/oauth2/revoke`);
    assert.deepEqual(metadata.introspection_endpoint_auth_methods_supported, ['client_secret_basic']);
    assert.deepEqual(metadata.revocation_endpoint_auth_methods_supported, ['client_secret_basic']);
    assert.equal(metadata.introspection_endpoint, endpoints(server).introspect, 'the advertised URL is the one that answers');
  });

  it('never writes a token or a secret to the log', async () => {
    const token = await accessToken(server, app);
    await introspect(server, rs, token);
    await revoke(server, app, token);
    await introspect(server, plain, token);
    await sleep(50);
    const logs = server.logs.join('\n');
    for (const secret of [rs.clientSecret, app.clientSecret, plain.clientSecret]) assert.ok(!logs.includes(secret), 'a client secret was logged');
    assert.ok(!logs.includes(token.split('.')[2]!), 'a token was logged');
    assert.match(logs, /"outcome":"active"/);
    assert.match(logs, /"outcome":"inactive","detail":"revoked"/);
  });
});

function decodeHeader(jwt: string): { kid: string } {
  return JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString('utf8'));
}
