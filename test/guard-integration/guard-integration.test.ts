/**
 * The guard against a real d1-authz: tokens from the token endpoint, keys from its JWKS, revocation
 * from its introspection endpoint or its revocation feed. The guard protects a real node:http API.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { createGuard, createIntrospectionCheck, createRevocationFeed, withGuard, type Guard, type GuardOptions } from '@d1-authz/guard';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { accessToken, endpoints, revoke, type Caller } from '../helpers/token-status.js';
import { eventually, sleep } from '../helpers/wait.js';

interface Api {
  readonly origin: string;
  hits: number;
  call(token: string | undefined): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A consumer API guarded by createGuard, as a bank would write it with plain node:http. */
async function startApi(guard: Guard, requiredScopes: string[] = ['consumer']): Promise<Api> {
  const api = { hits: 0 } as Api & { hits: number };
  const server: Server = createServer(
    withGuard(
      guard,
      (_req, res, auth) => {
        api.hits++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ client: auth.clientId, scopes: auth.scopes }));
      },
      { requiredScopes },
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(api, {
    origin,
    async call(token: string | undefined) {
      const res = await fetch(`${origin}/consumers/42`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      return { status: res.status, body: await res.json() };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe('guard ⇄ d1-authz', () => {
  let server: TestServer;
  let nodeB: TestServer;
  let rs: Caller;
  let app: Caller;
  const cleanup: (() => Promise<void> | void)[] = [];
  const guardOptions = (extra: Partial<GuardOptions> = {}): GuardOptions => ({ issuer: server.issuer, audience: 'd1-issuer-api', ...extra });

  before(async () => {
    // Short tokens and skew so the key rotation's overlap stays within the test; sync every 100 ms.
    server = await startTestServer({ tokenTtl: 60, maxTokenTtl: 60, clockSkew: 5, syncIntervalMs: 100 });
    // A second node on the same store and issuer: a revocation taken by one is answered by the other.
    nodeB = await startTestServer({ issuer: server.issuer, tokenTtl: 60, maxTokenTtl: 60, clockSkew: 5, syncIntervalMs: 100 }, { database: server.database, masterKey: server.masterKey });
    rs = await server.createClient('consumer-api', { introspect: true, tokens: false });
    app = await server.createClient('d1-app', { scopes: ['consumer', 'otp'], defaultScopes: ['consumer'] });
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c();
    await nodeB?.close();
    await server?.close();
  });

  it('a token from the token endpoint passes the guard; scopes and audience are enforced', async () => {
    const api = await startApi(createGuard(guardOptions({ jwksUri: server.jwksUrl })));
    cleanup.push(() => api.close());
    const ok = await api.call(await accessToken(server, app));
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, { client: 'd1-app', scopes: ['consumer'] });
    const otpOnly = await accessToken(server, app, { grant_type: 'client_credentials', scope: 'otp' });
    assert.equal((await api.call(otpOnly)).status, 403, 'insufficient_scope');
    assert.equal((await api.call(undefined)).status, 401);
    const otherAudience = await startApi(createGuard(guardOptions({ audience: 'another-api' })));
    cleanup.push(() => otherAudience.close());
    assert.equal((await otherAudience.call(await accessToken(server, app))).status, 401);
  });

  it('a signing key rotation while requests flow causes zero failed requests', async () => {
    const api = await startApi(createGuard(guardOptions()));
    cleanup.push(() => api.close());
    const statuses = new Map<number, number>();
    const kids = new Set<string>();
    const deadline = Date.now() + 3500;
    const loop = async () => {
      while (Date.now() < deadline) {
        const token = await accessToken(server, app);
        kids.add(decodeProtectedHeader(token).kid!);
        const { status } = await api.call(token);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    await sleep(500);
    const rotated = await server.app.keys.rotate({ activateInSeconds: 1 });
    await Promise.all(loops);
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(`# key rotation: ${total} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, kids seen ${kids.size}`);
    assert.ok(kids.has(rotated.kid), 'tokens signed by the new key reached the guard');
    assert.equal(kids.size, 2, 'tokens from both keys were verified');
    assert.deepEqual([...statuses.keys()], [200], 'every request succeeded');
    assert.ok(total > 50, `enough traffic (${total})`);
  });

  describe('introspection mode', () => {
    it('a revoked token is refused within cacheTtl + the sync interval, even when revoked on another node', async () => {
      const cacheTtlMs = 1000;
      const check = createIntrospectionCheck({ introspectionEndpoint: endpoints(nodeB).introspect, clientId: rs.clientId, clientSecret: rs.clientSecret, cacheTtlMs });
      const api = await startApi(createGuard(guardOptions({ isRevoked: check })));
      cleanup.push(() => api.close());
      const token = await accessToken(server, app);
      assert.equal((await api.call(token)).status, 200);
      assert.equal((await api.call(token)).status, 200);
      assert.equal(check.stats().requests, 1, 'the second call is answered from the cache');

      const t0 = performance.now();
      assert.equal((await revoke(server, app, token)).status, 200); // revoked on node A, introspected on node B
      const ms = await eventually(async () => (await api.call(token)).status === 401, 5000, 10);
      const bound = cacheTtlMs + server.app.config.syncIntervalMs + 500;
      console.log(`# introspection mode: revoked token refused after ${(performance.now() - t0).toFixed(0)} ms (bound ${bound} ms = cache ${cacheTtlMs} + sync ${server.app.config.syncIntervalMs} + 500 margin)`);
      assert.ok(ms <= bound, `refused after ${ms} ms, bound ${bound}`);
      const refused = await api.call(token);
      assert.equal(refused.body.error, 'invalid_token');
      assert.equal(refused.body.error_description, 'token revoked');
      assert.equal((await api.call(await accessToken(server, app))).status, 200, 'other tokens still pass');
    });

    it('tokens of a disabled client are refused', async () => {
      const c = await server.createClient('to-disable-i', { scopes: ['consumer'], defaultScopes: ['consumer'] });
      const check = createIntrospectionCheck({ introspectionEndpoint: endpoints(server).introspect, clientId: rs.clientId, clientSecret: rs.clientSecret, cacheTtlMs: 200 });
      const api = await startApi(createGuard(guardOptions({ isRevoked: check })));
      cleanup.push(() => api.close());
      const token = await accessToken(server, c);
      assert.equal((await api.call(token)).status, 200);
      await server.app.clients.setEnabled('to-disable-i', false);
      await eventually(async () => (await api.call(token)).status === 401, 5000);
    });

    it('fails closed (503) when the introspection endpoint refuses the resource server', async () => {
      const check = createIntrospectionCheck({ introspectionEndpoint: endpoints(server).introspect, clientId: rs.clientId, clientSecret: 'not-the-secret-not-the-secret-xx' });
      const api = await startApi(createGuard(guardOptions({ isRevoked: check })));
      cleanup.push(() => api.close());
      const res = await api.call(await accessToken(server, app));
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'temporarily_unavailable');
      assert.equal(api.hits, 0);
    });
  });

  describe('revocation feed mode', () => {
    it('a revoked token is refused within one poll interval, wherever it was revoked', async () => {
      const pollIntervalMs = 250;
      const feed = createRevocationFeed({ url: endpoints(nodeB).revocations, clientId: rs.clientId, clientSecret: rs.clientSecret, pollIntervalMs });
      await feed.start();
      cleanup.push(() => feed.stop());
      const api = await startApi(createGuard(guardOptions({ isRevoked: feed.isRevoked })));
      cleanup.push(() => api.close());
      const token = await accessToken(server, app);
      assert.equal((await api.call(token)).status, 200);

      const delays: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = await accessToken(server, app);
        assert.equal((await api.call(t)).status, 200);
        await sleep(Math.random() * pollIntervalMs);
        const t0 = performance.now();
        assert.equal((await revoke(server, app, t)).status, 200);
        await eventually(async () => (await api.call(t)).status === 401, 3000, 5);
        delays.push(performance.now() - t0);
      }
      const bound = pollIntervalMs + 500;
      console.log(`# feed mode: revoked tokens refused after ${delays.map((d) => d.toFixed(0)).join(', ')} ms (bound ${bound} ms = poll ${pollIntervalMs} + 500 margin)`);
      for (const d of delays) assert.ok(d <= bound, `refused after ${d} ms, bound ${bound}`);
      assert.ok(feed.stats().revokedTokens >= 5);
      assert.equal((await api.call(token)).status, 200, 'the token that was not revoked still passes');
    });

    it('client-wide cut-offs: a disabled client\'s tokens are refused; after re-enable only new tokens pass', async () => {
      const c = await server.createClient('to-disable-f', { scopes: ['consumer'], defaultScopes: ['consumer'] });
      const feed = createRevocationFeed({ url: endpoints(server).revocations, clientId: rs.clientId, clientSecret: rs.clientSecret, pollIntervalMs: 100 });
      await feed.start();
      cleanup.push(() => feed.stop());
      const api = await startApi(createGuard(guardOptions({ isRevoked: feed.isRevoked })));
      cleanup.push(() => api.close());
      const old = await accessToken(server, c);
      assert.equal((await api.call(old)).status, 200);
      await server.app.clients.setEnabled('to-disable-f', false);
      await eventually(async () => (await api.call(old)).status === 401, 5000);
      await server.app.clients.setEnabled('to-disable-f', true);
      await eventually(async () => (await server.token(c.clientId, c.clientSecret)).status === 200, 5000);
      const fresh = await accessToken(server, c);
      await feed.poll();
      assert.equal((await api.call(fresh)).status, 200, 'a token issued after the enable passes');
      assert.equal((await api.call(old)).status, 401, 'a token from before the disable stays refused');
    });

    it('fails closed (503) before the first load and when the feed goes stale', async () => {
      const feed = createRevocationFeed({ url: endpoints(server).revocations, clientId: rs.clientId, clientSecret: rs.clientSecret, pollIntervalMs: 100, maxStalenessMs: 300 });
      const api = await startApi(createGuard(guardOptions({ isRevoked: feed.isRevoked })));
      cleanup.push(() => api.close());
      const token = await accessToken(server, app);
      assert.equal((await api.call(token)).status, 503, 'not loaded yet');
      await feed.start();
      assert.equal((await api.call(token)).status, 200);
      await feed.stop(); // as if the authorization server were unreachable
      await sleep(400);
      assert.equal((await api.call(token)).status, 503, 'stale');
      assert.equal(api.hits, 1);
    });

    it('start() rejects when the feed refuses the credentials', async () => {
      const errors: Error[] = [];
      const feed = createRevocationFeed({ url: endpoints(server).revocations, clientId: app.clientId, clientSecret: app.clientSecret, onError: (e) => errors.push(e) });
      cleanup.push(() => feed.stop());
      await assert.rejects(feed.start(), /HTTP 401/);
      assert.equal(feed.ready, false);
      assert.equal(errors.length, 1);
    });
  });
});
