/**
 * Token validation rules, through real HTTP, for each adapter: Fastify, Express-style (Connect
 * middleware on node:http) and bare node:http (withGuard).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createGuard } from '@d1-authz/guard';
import type { Guard } from '@d1-authz/guard';
import { ADAPTERS } from './apps.js';
import type { TestApp } from './apps.js';
import {
  AUDIENCE,
  assertGuardFailure,
  bearer,
  defaultClaims,
  hs256WithPublicKey,
  httpGet,
  makeKey,
  startJwksServer,
  unsignedToken,
} from './helpers.js';
import type { JwksServer } from './helpers.js';

const now = () => Math.floor(Date.now() / 1000);

for (const adapter of ADAPTERS) {
  describe(`guard through ${adapter.kind}`, () => {
    let jwks: JwksServer;
    let guard: Guard;
    let app: TestApp;
    const get = (path: string, headers: Record<string, string> = {}) => httpGet(`${app.url}${path}`, headers);

    before(async () => {
      jwks = await startJwksServer();
      guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE });
      app = await adapter.start(guard);
    });
    after(async () => {
      await app?.close();
      await jwks?.close();
    });

    test('valid token passes and the route sees clientId, scopes and claims', async () => {
      const exp = now() + 300;
      const res = await get('/read', bearer(await jwks.mint({ claims: { exp } })));
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, {
        clientId: 'client-123',
        scopes: ['d1:read', 'd1:write'],
        sub: 'client-123',
        expiresAt: new Date(exp * 1000).toISOString(),
      });
      assert.equal(jwks.fetches, 1);
    });

    test('scheme is case-insensitive, several spaces allowed, typ application/at+jwt accepted', async () => {
      const token = await jwks.mint();
      assert.equal((await get('/whoami', { authorization: `bearer ${token}` })).status, 200);
      assert.equal((await get('/whoami', { authorization: `BEARER   ${token}` })).status, 200);
      const t2 = await jwks.mint({ header: { typ: 'application/at+jwt' } });
      assert.equal((await get('/whoami', bearer(t2))).status, 200);
    });

    test('audience inside an aud array passes', async () => {
      const token = await jwks.mint({ claims: { aud: ['https://other.test', AUDIENCE] } });
      assert.equal((await get('/whoami', bearer(token))).status, 200);
    });

    test('no Authorization header: 401, bare challenge without error attribute', async () => {
      assertGuardFailure(await get('/read'), { status: 401, code: undefined });
      assertGuardFailure(await get('/read', { authorization: '' }), { status: 401, code: undefined });
    });

    test('malformed Bearer header: 400 invalid_request', async () => {
      const token = await jwks.mint();
      for (const authorization of [
        'Bearer',
        `Bearer ${token} extra`,
        'Bearer abc$def',
        'Bearer ===',
        `Bearer\t${token}`,
        `Bearer,${token}`,
      ]) {
        assertGuardFailure(await get('/read', { authorization }), { status: 400, code: 'invalid_request', token });
      }
    });

    test('garbage bearer token: 401 invalid_token', async () => {
      for (const garbage of ['garbage', 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9.e30.', 'a.b.c.d.e', 'x'.repeat(9000)]) {
        assertGuardFailure(await get('/read', bearer(garbage)), { status: 401, code: 'invalid_token', token: garbage });
      }
    });

    test('bad signature: 401 invalid_token', async () => {
      const attacker = await makeKey(jwks.signingKey.kid); // same kid, different key
      const forged = await jwks.mint({ key: attacker });
      assertGuardFailure(await get('/read', bearer(forged)), { status: 401, code: 'invalid_token', description: /signature/, token: forged });

      const valid = await jwks.mint();
      const [h, , s] = valid.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify(defaultClaims(jwks.issuer, { scope: 'd1:admin' }))).toString('base64url')}.${s}`;
      assertGuardFailure(await get('/admin', bearer(tampered)), { status: 401, code: 'invalid_token', description: /signature/ });
    });

    test('other issuer: 401 invalid_token', async () => {
      const token = await jwks.mint({ claims: { iss: 'https://evil.example' } });
      assertGuardFailure(await get('/read', bearer(token)), { status: 401, code: 'invalid_token', description: /issuer/ });
      const trailing = await jwks.mint({ claims: { iss: `${jwks.issuer}/` } });
      assertGuardFailure(await get('/read', bearer(trailing)), { status: 401, code: 'invalid_token', description: /issuer/ });
    });

    test('other audience: 401 invalid_token', async () => {
      const token = await jwks.mint({ claims: { aud: 'https://other-api.test' } });
      assertGuardFailure(await get('/read', bearer(token)), { status: 401, code: 'invalid_token', description: /audience/ });
      const none = await jwks.mint({ claims: { aud: undefined } });
      assertGuardFailure(await get('/read', bearer(none)), { status: 401, code: 'invalid_token' });
    });

    test('expired (beyond the 30 s tolerance): 401; within tolerance: accepted', async () => {
      const expired = await jwks.mint({ claims: { iat: now() - 600, exp: now() - 120 } });
      assertGuardFailure(await get('/read', bearer(expired)), { status: 401, code: 'invalid_token', description: /expired/ });
      const justExpired = await jwks.mint({ claims: { iat: now() - 600, exp: now() - 5 } });
      assert.equal((await get('/read', bearer(justExpired))).status, 200);
    });

    test('not yet valid (nbf beyond the tolerance): 401; nbf within tolerance: accepted', async () => {
      const future = await jwks.mint({ claims: { nbf: now() + 120 } });
      assertGuardFailure(await get('/read', bearer(future)), { status: 401, code: 'invalid_token', description: /not yet valid/ });
      const soon = await jwks.mint({ claims: { nbf: now() + 10 } });
      assert.equal((await get('/read', bearer(soon))).status, 200);
    });

    test('iat in the future beyond the tolerance: 401', async () => {
      const token = await jwks.mint({ claims: { iat: now() + 120, exp: now() + 600 } });
      assertGuardFailure(await get('/read', bearer(token)), { status: 401, code: 'invalid_token', description: /future/ });
    });

    test('alg none: 401 invalid_token, no JWKS fetch', async () => {
      const before = jwks.fetches;
      for (const header of [{}, { kid: jwks.signingKey.kid }, { alg: 'None' }, { alg: 'NONE' }]) {
        const token = unsignedToken(defaultClaims(jwks.issuer), header);
        assertGuardFailure(await get('/read', bearer(token)), { status: 401, code: 'invalid_token' });
      }
      assert.equal(jwks.fetches, before);
    });

    test('HS256 signed with the public key bytes (key confusion): 401 invalid_token, no JWKS fetch', async () => {
      const before = jwks.fetches;
      for (const form of ['pem', 'jwk'] as const) {
        const token = await hs256WithPublicKey(jwks.signingKey, defaultClaims(jwks.issuer), form);
        assertGuardFailure(await get('/read', bearer(token)), { status: 401, code: 'invalid_token', description: /algorithm/, token });
      }
      assert.equal(jwks.fetches, before);
    });

    test('typ other than at+jwt: 401 invalid_token', async () => {
      for (const typ of ['JWT', 'jwt', 'application/jwt', 'at+jwt+x', undefined]) {
        const token = await jwks.mint({ header: { typ } });
        assertGuardFailure(await get('/read', bearer(token)), { status: 401, code: 'invalid_token', description: /typ|type/ });
      }
    });

    test('missing client_id or sub, or a non-string scope: 401 invalid_token', async () => {
      for (const claims of [{ client_id: undefined }, { sub: undefined }, { client_id: '' }, { client_id: 42 }, { scope: ['d1:read'] }, { exp: undefined }, { iat: undefined }]) {
        const token = await jwks.mint({ claims });
        assertGuardFailure(await get('/whoami', bearer(token)), { status: 401, code: 'invalid_token' });
      }
    });

    test('missing scope: 403 insufficient_scope with the scope attribute', async () => {
      const token = await jwks.mint({ claims: { scope: 'd1:read' } });
      assert.equal((await get('/read', bearer(token))).status, 200);
      assertGuardFailure(await get('/admin', bearer(token)), { status: 403, code: 'insufficient_scope', scope: 'd1:admin', token });
      assertGuardFailure(await get('/multi', bearer(token)), { status: 403, code: 'insufficient_scope', scope: 'd1:read d1:admin' });

      const noScope = await jwks.mint({ claims: { scope: undefined } });
      const who = await get('/whoami', bearer(noScope));
      assert.equal(who.status, 200);
      assert.deepEqual(who.body['scopes'], []);
      assertGuardFailure(await get('/read', bearer(noScope)), { status: 403, code: 'insufficient_scope', scope: 'd1:read' });

      const both = await jwks.mint({ claims: { scope: 'd1:admin  d1:read d1:admin' } });
      const multi = await get('/multi', bearer(both));
      assert.equal(multi.status, 200);
      assert.deepEqual(multi.body['scopes'], ['d1:admin', 'd1:read']);
    });

    test('none of the failures above caused another JWKS fetch', () => {
      assert.equal(jwks.fetches, 1);
    });
  });
}
