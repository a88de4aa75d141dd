/**
 * Public API details: configuration checks, WWW-Authenticate formatting, per-call scopes, the
 * standalone Fastify preHandler, and adapter error paths.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import Fastify from 'fastify';
import { createGuard, GuardError, requireAuth, sendGuardError, withGuard } from '@d1-authz/guard';
import { startExpressStyleApp } from './apps.js';
import { AUDIENCE, assertGuardFailure, bearer, httpGet, startJwksServer } from './helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function jwksServer() {
  const jwks = await startJwksServer();
  cleanups.push(() => jwks.close());
  return jwks;
}

describe('createGuard configuration', () => {
  test('refuses none and HS* in the algorithm allow-list', () => {
    for (const alg of ['none', 'HS256', 'hs512']) {
      assert.throws(() => createGuard({ issuer: 'https://as.test', audience: AUDIENCE, algorithms: ['ES256', alg] }), TypeError);
    }
    assert.throws(() => createGuard({ issuer: 'https://as.test', audience: AUDIENCE, algorithms: [] }), TypeError);
  });

  test('requires issuer and audience; validates scopes and clock tolerance', () => {
    assert.throws(() => createGuard({ issuer: '', audience: AUDIENCE }), TypeError);
    assert.throws(() => createGuard({ issuer: 'https://as.test', audience: '' }), TypeError);
    assert.throws(() => createGuard({ issuer: 'https://as.test', audience: [] }), TypeError);
    assert.throws(() => createGuard({ issuer: 'https://as.test', audience: AUDIENCE, requiredScopes: ['a b'] }), TypeError);
    assert.throws(() => createGuard({ issuer: 'https://as.test', audience: AUDIENCE, clockTolerance: -1 }), TypeError);
  });

  test('http jwksUri only on loopback unless allowInsecureJwksUri', () => {
    assert.throws(() => createGuard({ issuer: 'http://as.internal', audience: AUDIENCE }), /https/);
    assert.ok(createGuard({ issuer: 'http://as.internal', audience: AUDIENCE, allowInsecureJwksUri: true }));
    assert.ok(createGuard({ issuer: 'http://localhost:8080', audience: AUDIENCE }));
    assert.ok(createGuard({ issuer: 'https://as.example', audience: AUDIENCE }));
  });

  test('issuer with a trailing slash: default jwksUri has no double slash; iss still exact', async () => {
    const jwks = await jwksServer();
    const issuer = `${jwks.issuer}/`;
    const guard = createGuard({ issuer, audience: AUDIENCE });
    const app = await startExpressStyleApp(guard);
    cleanups.push(() => app.close());
    assert.equal((await httpGet(`${app.url}/read`, bearer(await jwks.mint({ claims: { iss: issuer } })))).status, 200);
    assert.equal(jwks.fetches, 1);
    assertGuardFailure(await httpGet(`${app.url}/read`, bearer(await jwks.mint())), { status: 401, code: 'invalid_token' });
  });
});

describe('guard-level and per-call scopes, realm', () => {
  test('guard requiredScopes apply to every route and combine with the route scopes', async () => {
    const jwks = await jwksServer();
    const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE, requiredScopes: ['d1:write'], realm: 'd1 "outbound"' });
    const app = await startExpressStyleApp(guard);
    cleanups.push(() => app.close());
    const readOnly = await jwks.mint({ claims: { scope: 'd1:read' } });
    const res = await httpGet(`${app.url}/read`, bearer(readOnly));
    assert.equal(res.status, 403);
    assert.equal(
      res.headers.get('www-authenticate'),
      'Bearer realm="d1 \\"outbound\\"", error="insufficient_scope", error_description="token lacks required scope: d1:write", scope="d1:write d1:read"',
    );
    const rw = await jwks.mint({ claims: { scope: 'd1:read d1:write' } });
    assert.equal((await httpGet(`${app.url}/read`, bearer(rw))).status, 200);
    assertGuardFailure(await httpGet(`${app.url}/whoami`), { status: 401, code: undefined, realm: 'd1 \\"outbound\\"' });
  });
});

describe('sendGuardError', () => {
  test('writes status, quoted WWW-Authenticate, no-store and JSON body', async () => {
    const server = createServer((_req, res) =>
      sendGuardError(res, new GuardError({ status: 401, code: 'invalid_token', description: 'bad "quote" \\ and\r\nnewline', realm: 'r' })),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const res = await httpGet(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="r", error="invalid_token", error_description="bad \\"quote\\" \\\\ andnewline"');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(res.body, { error: 'invalid_token', error_description: 'bad "quote" \\ and\r\nnewline' });
  });
});

describe('adapters', () => {
  test('Fastify requireAuth works without the plugin and sets request.d1Auth', async () => {
    const jwks = await jwksServer();
    const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE });
    const app = Fastify();
    app.get('/x', { preHandler: requireAuth(guard, { requiredScopes: ['d1:read'] }) }, async (request) => ({
      client: request.d1Auth?.clientId,
    }));
    app.get('/open', async (request) => ({ auth: request.d1Auth ?? null }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const ok = await httpGet(`${url}/x`, bearer(await jwks.mint()));
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { client: 'client-123' });
    assertGuardFailure(await httpGet(`${url}/x`, bearer(await jwks.mint({ claims: { scope: 'd1:write' } }))), {
      status: 403,
      code: 'insufficient_scope',
      scope: 'd1:read',
    });
    assert.deepEqual((await httpGet(`${url}/open`)).body, { auth: null });
  });

  test('Express-style: errors that are not GuardErrors go to next(err)', async () => {
    const jwks = await jwksServer();
    const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE });
    const app = await startExpressStyleApp(guard, {
      getPeerCertificateThumbprint: () => {
        throw new Error('boom');
      },
    });
    cleanups.push(() => app.close());
    const res = await httpGet(`${app.url}/read`, bearer(await jwks.mint()));
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: 'server_error' }); // the dispatcher's own error answer
  });

  test('withGuard: a throwing handler yields a 500 JSON and onError', async () => {
    const jwks = await jwksServer();
    const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE });
    const errors: unknown[] = [];
    const server = createServer(
      withGuard(
        guard,
        async () => {
          throw new Error('handler failed');
        },
        { onError: (err) => errors.push(err) },
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const res = await httpGet(url, bearer(await jwks.mint()));
    assert.equal(res.status, 500);
    assert.equal(res.body['error'], 'server_error');
    assert.equal(errors.length, 1);
    assertGuardFailure(await httpGet(url), { status: 401, code: undefined });
  });
});
