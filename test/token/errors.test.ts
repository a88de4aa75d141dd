/** Every bad input gets an RFC 6749 §5.2 answer: right status and code, JSON, no-store, never a 5xx or a stack. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startTestServer, type TestServer, type TokenCall } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function assertOAuthError(res: TokenCall, status: number, error: string) {
  assert.equal(res.status, status, JSON.stringify(res.json));
  assert.equal(res.json.error, error);
  assert.equal(typeof res.json.error_description, 'string');
  assert.doesNotMatch(res.json.error_description, /at .*\.(ts|js):\d+|Error:/, 'no stack or internal message');
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'error_description']);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
}

describe('token endpoint: errors', () => {
  let server: TestServer;
  let secret: string;
  const auth = () => basicAuth('bank-d1', secret);
  before(async () => {
    server = await startTestServer();
    ({ clientSecret: secret } = await server.createClient('bank-d1', { scopes: ['consumer', 'otp'], defaultScopes: ['consumer'] }));
    await server.createClient('off', {}, { secret: 'o'.repeat(32) });
    await server.app.clients.setEnabled('off', false);
    await server.createClient('introspector', { tokens: false }, { secret: 'i'.repeat(32) });
  });
  after(() => server.close());

  describe('400 invalid_request', () => {
    it('missing grant_type', async () => assertOAuthError(await server.post('scope=consumer', { ...FORM, authorization: auth() }), 400, 'invalid_request'));
    it('repeated grant_type', async () =>
      assertOAuthError(await server.post('grant_type=client_credentials&grant_type=client_credentials', { ...FORM, authorization: auth() }), 400, 'invalid_request'));
    it('repeated scope', async () =>
      assertOAuthError(await server.post('grant_type=client_credentials&scope=otp&scope=otp', { ...FORM, authorization: auth() }), 400, 'invalid_request'));
    it('JSON content type', async () =>
      assertOAuthError(await server.post('{"grant_type":"client_credentials"}', { 'content-type': 'application/json', authorization: auth() }), 400, 'invalid_request'));
    it('no content type', async () => assertOAuthError(await server.post('grant_type=client_credentials', { authorization: auth(), 'content-type': '' }), 400, 'invalid_request'));
    it('a charset other than UTF-8', async () =>
      assertOAuthError(await server.post('grant_type=client_credentials', { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1', authorization: auth() }), 400, 'invalid_request'));
    it('an empty body', async () => assertOAuthError(await server.post(undefined, { ...FORM, authorization: auth() }), 400, 'invalid_request'));
    it('malformed percent-encoding', async () => assertOAuthError(await server.post('grant_type=client%ZZcredentials', { ...FORM, authorization: auth() }), 400, 'invalid_request'));
    it('secret both in header and body', async () =>
      assertOAuthError(await server.post(`grant_type=client_credentials&client_secret=${secret}`, { ...FORM, authorization: auth() }), 400, 'invalid_request'));
    it('a body client_id naming another client', async () =>
      assertOAuthError(await server.post('grant_type=client_credentials&client_id=off', { ...FORM, authorization: auth() }), 400, 'invalid_request'));
  });

  it('accepts a UTF-8 charset parameter and a body client_id naming the same client', async () => {
    const res = await server.post('grant_type=client_credentials&client_id=bank-d1', { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', authorization: auth() });
    assert.equal(res.status, 200);
  });

  it('400 unsupported_grant_type', async () => {
    for (const grant of ['password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
      assertOAuthError(await server.post(`grant_type=${encodeURIComponent(grant)}`, { ...FORM, authorization: auth() }), 400, 'unsupported_grant_type');
    }
  });

  describe('400 invalid_scope', () => {
    it('a scope not allowed', async () => assertOAuthError(await server.token('bank-d1', secret, { grant_type: 'client_credentials', scope: 'consumer admin' }), 400, 'invalid_scope'));
    for (const scope of [' consumer', 'consumer ', 'consumer  otp', 'con"sumer', 'con\\sumer', 'cons\tumer']) {
      it(`malformed scope ${JSON.stringify(scope)}`, async () => assertOAuthError(await server.token('bank-d1', secret, { grant_type: 'client_credentials', scope }), 400, 'invalid_scope'));
    }
  });

  it('400 unauthorized_client for a client not allowed to obtain tokens', async () => {
    assertOAuthError(await server.token('introspector', 'i'.repeat(32)), 400, 'unauthorized_client');
  });

  describe('401 invalid_client with a Basic challenge', () => {
    const cases: [string, () => Record<string, string>][] = [
      ['no credentials', () => ({ ...FORM })],
      ['secret in the body only (client_secret_post is off)', () => ({ ...FORM })],
      ['Bearer scheme', () => ({ ...FORM, authorization: 'Bearer abc' })],
      ['not base64', () => ({ ...FORM, authorization: 'Basic ***' })],
      ['no colon', () => ({ ...FORM, authorization: 'Basic ' + Buffer.from('bank-d1').toString('base64') })],
      ['empty secret', () => ({ ...FORM, authorization: 'Basic ' + Buffer.from('bank-d1:').toString('base64') })],
      ['not UTF-8', () => ({ ...FORM, authorization: 'Basic ' + Buffer.from([0x62, 0x3a, 0xff, 0xfe]).toString('base64') })],
      ['wrong secret', () => ({ ...FORM, authorization: basicAuth('bank-d1', 'wrong') })],
      ['unknown client', () => ({ ...FORM, authorization: basicAuth('nobody', secret) })],
      ['disabled client, right secret', () => ({ ...FORM, authorization: basicAuth('off', 'o'.repeat(32)) })],
    ];
    for (const [name, headers] of cases) {
      it(name, async () => {
        const body = name.includes('client_secret_post') ? `grant_type=client_credentials&client_id=bank-d1&client_secret=${secret}` : 'grant_type=client_credentials';
        const res = await server.post(body, headers());
        assertOAuthError(res, 401, 'invalid_client');
        assert.equal(res.headers.get('www-authenticate'), 'Basic realm="d1-authz", charset="UTF-8"');
        assert.equal(res.headers.get('cache-control'), 'no-store');
      });
    }
  });

  it('405 with Allow: POST for other methods', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const res = await fetch(server.tokenUrl, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
      assert.equal((await res.json()).error, 'invalid_request');
    }
  });

  it('413 for a body over the limit', async () => {
    const res = await server.post('grant_type=client_credentials&scope=' + 'a'.repeat(5000), { ...FORM, authorization: auth() });
    assertOAuthError(res, 413, 'invalid_request');
  });

  it('400 invalid_request JSON for a URL the router cannot decode', async () => {
    const res = await fetch(`${server.origin}/authz/d1/v1/oauth2/%E0%A4%A`);
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(await res.json()).sort(), ['error', 'error_description']);
  });

  it('404 JSON for unknown paths, not a framework page', async () => {
    const res = await fetch(`${server.origin}/nope`);
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error, 'not_found');
  });

  it('logs the private reason of a failure, never sends it', async () => {
    const res = await server.post('grant_type=client_credentials', { ...FORM, authorization: basicAuth('nobody', 'whatever-secret'), 'x-correlation-id': 'reason-check' });
    assert.doesNotMatch(JSON.stringify(res.json), /unknown_client/);
    await sleep(50);
    const line = server.logs.map((l) => JSON.parse(l)).find((l) => l.correlation_id === 'reason-check' && l.msg === 'request');
    assert.ok(line, 'request logged');
    assert.match(line.detail, /unknown_client/);
  });
});
