import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { contractErrors } from '../helpers/contract.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('token endpoint: success', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.createClient('is_tbank01', { scopes: ['consumer', 'otp'], defaultScopes: ['consumer'] }, { secret: '123', force: true });
  });
  after(() => server.close());

  it("accepts the contract's own example header for is_tbank01 / 123", async () => {
    const res = await server.post('grant_type=client_credentials', {
      authorization: 'Basic aXNfdGJhbmswMToxMjM=',
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(contractErrors('tokenResponse', res.json), []);
    assert.equal(res.json.token_type, 'Bearer');
    assert.equal(res.json.expires_in, '900');
    assert.equal(res.json.scope, 'consumer');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    assert.match(res.headers.get('content-type')!, /^application\/json/);
  });

  it('issues an RFC 9068 JWT that verifies against the JWKS', async () => {
    const res = await server.token('is_tbank01', '123', { grant_type: 'client_credentials', scope: 'otp consumer' });
    assert.equal(res.status, 200);
    const header = decodeProtectedHeader(res.json.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    assert.ok(header.kid);
    const { payload } = await jwtVerify(res.json.access_token, createRemoteJWKSet(new URL(server.jwksUrl)), {
      issuer: server.issuer,
      audience: 'd1-issuer-api',
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    assert.equal(payload.sub, 'is_tbank01');
    assert.equal(payload.client_id, 'is_tbank01');
    assert.equal(payload.scope, 'otp consumer');
    assert.equal(payload.exp! - payload.iat!, 900);
    assert.match(payload.jti!, /^[0-9a-f-]{36}$/);
    // expires_at is ISO-8601 UTC with milliseconds and equals exp.
    assert.match(res.json.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(new Date(res.json.expires_at).getTime(), payload.exp! * 1000);
    assert.equal(res.json.scope, 'otp consumer');
  });

  it('gives every token a distinct jti', async () => {
    const jtis = new Set<string>();
    for (let i = 0; i < 25; i++) {
      const res = await server.token('is_tbank01', '123');
      jtis.add(JSON.parse(Buffer.from(res.json.access_token.split('.')[1], 'base64url').toString()).jti);
    }
    assert.equal(jtis.size, 25);
  });

  it('publishes public keys only', async () => {
    const jwks = await (await fetch(server.jwksUrl)).json();
    assert.ok(jwks.keys.length >= 1);
    for (const key of jwks.keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[member], undefined, `JWKS leaks ${member}`);
      assert.equal(key.use, 'sig');
    }
  });

  it('serves RFC 8414 metadata at both well-known locations', async () => {
    const inserted = await (await fetch(`${server.origin}/.well-known/oauth-authorization-server/authz/d1/v1`)).json();
    const appended = await (await fetch(`${server.issuer}/.well-known/oauth-authorization-server`)).json();
    assert.deepEqual(inserted, appended);
    assert.equal(inserted.issuer, server.issuer);
    assert.equal(inserted.token_endpoint, server.tokenUrl);
    assert.equal(inserted.jwks_uri, server.jwksUrl);
    assert.deepEqual(inserted.grant_types_supported, ['client_credentials']);
    assert.ok(inserted.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  });

  it('applies per-client audience and ttl, capped by the maximum', async () => {
    await server.createClient('custom', { audience: 'urn:bank:consumer-api', ttl: 120 }, { secret: 'x'.repeat(40) });
    const res = await server.token('custom', 'x'.repeat(40));
    assert.equal(res.status, 200);
    assert.equal(res.json.expires_in, '120');
    const payload = JSON.parse(Buffer.from(res.json.access_token.split('.')[1], 'base64url').toString());
    assert.equal(payload.aud, 'urn:bank:consumer-api');
    assert.equal(payload.exp - payload.iat, 120);
    // A client without scopes gets a token without scope (the contract makes scope optional).
    assert.equal(res.json.scope, undefined);
    await assert.rejects(server.app.clients.update('custom', { ttl: 999_999 }), /ttl must be 1 to 3600/);
  });
});

describe('token endpoint: expires_in as a number', () => {
  it('answers a JSON number when D1AUTHZ_EXPIRES_IN_FORMAT=number', async () => {
    const server = await startTestServer({ expiresInFormat: 'number', tokenTtl: 600 });
    try {
      await server.createClient('c1', {}, { secret: 's'.repeat(32) });
      const res = await server.token('c1', 's'.repeat(32));
      assert.equal(res.status, 200);
      assert.equal(res.json.expires_in, 600);
    } finally {
      await server.close();
    }
  });
});
