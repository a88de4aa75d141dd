/**
 * JWKS fetching policy, through real HTTP for each adapter, counting fetches on the test JWKS
 * server: key rotation mid-run, unknown-kid floods, cooldown, outage/backoff, stale keys, removed
 * keys, fetch timeout.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { createGuard } from '@d1-authz/guard';
import type { GuardOptions } from '@d1-authz/guard';
import { ADAPTERS } from './apps.js';
import type { TestApp } from './apps.js';
import { AUDIENCE, assertGuardFailure, bearer, httpGet, makeKey, startJwksServer } from './helpers.js';
import type { JwksServer } from './helpers.js';
import { sleep } from '../helpers/wait.js';

for (const adapter of ADAPTERS) {
  describe(`JWKS policy through ${adapter.kind}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!();
    });

    async function setup(options: Partial<GuardOptions> = {}) {
      const jwks: JwksServer = await startJwksServer();
      cleanups.push(() => jwks.close());
      const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE, ...options });
      const app: TestApp = await adapter.start(guard);
      cleanups.push(() => app.close());
      const get = (path: string, headers: Record<string, string> = {}) => httpGet(`${app.url}${path}`, headers);
      return { jwks, guard, app, get };
    }

    test('key rotation mid-run: zero failed requests, exactly one extra JWKS fetch', async () => {
      const { jwks, get } = await setup(); // default 30 s cooldown
      assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
      assert.equal(jwks.fetches, 1);

      const oldKey = jwks.signingKey;
      const oldKid = oldKey.kid;
      const results: Array<{ kid: string; status: number }> = [];
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const kid = jwks.signingKey.kid;
          const token = await jwks.mint(); // always a fresh token: no cache hits here
          results.push({ kid, status: (await get('/read', bearer(token))).status });
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      // Counts, not fixed sleeps: on a loaded machine 150 ms may hold fewer than ten requests.
      const until = async (enough: () => boolean) => {
        for (const deadline = Date.now() + 60_000; !enough() && Date.now() < deadline; ) await sleep(20);
      };
      await until(() => results.length > 10);
      const newKey = await jwks.rotate(); // publishes the new key (old one stays) and signs with it
      await until(() => results.filter((r) => r.kid === newKey.kid).length > 10);
      stop = true;
      await Promise.all(workers);

      const failures = results.filter((r) => r.status !== 200);
      assert.deepEqual(failures, []);
      assert.ok(results.filter((r) => r.kid === oldKid).length > 10, 'requests before rotation');
      assert.ok(results.filter((r) => r.kid === newKey.kid).length > 10, 'requests after rotation');
      assert.equal(jwks.fetches, 2, 'exactly one extra fetch for the new kid');

      // Tokens signed before the rotation keep working while the old key is published.
      const old = await jwks.mint({ key: oldKey });
      assert.equal((await get('/read', bearer(old))).status, 200);
      assert.equal(jwks.fetches, 2);
    });

    test('flood of 200 tokens with random unknown kids: all 401, at most one extra JWKS fetch', async () => {
      const { jwks, get } = await setup();
      assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
      assert.equal(jwks.fetches, 1);

      const attacker = await makeKey();
      const tokens = await Promise.all(
        Array.from({ length: 200 }, () => jwks.mint({ key: attacker, header: { kid: randomUUID() } })),
      );
      jwks.delayMs = 100; // keep the refetch in flight while the concurrent half arrives
      const concurrent = await Promise.all(tokens.slice(0, 100).map((t) => get('/read', bearer(t))));
      jwks.delayMs = 0;
      const sequential = [];
      for (const t of tokens.slice(100)) sequential.push(await get('/read', bearer(t)));
      for (const res of [...concurrent, ...sequential]) {
        assertGuardFailure(res, { status: 401, code: 'invalid_token', description: /unknown signing key/ });
      }
      assert.ok(jwks.fetches <= 2, `JWKS fetches: ${jwks.fetches}`);
      assert.equal(jwks.fetches, 2, 'this implementation: exactly one refetch for the whole flood');

      // The legitimate key still works, without any further fetch.
      assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
      assert.equal(jwks.fetches, 2);
    });

    test('unknown-kid refetches are rate-limited by jwksCooldownMs (and a rotation inside it waits for it)', async () => {
      const { jwks, get } = await setup({ jwksCooldownMs: 1000 });
      assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
      const attacker = await makeKey();
      const bogus = () => jwks.mint({ key: attacker, header: { kid: randomUUID() } });

      assertGuardFailure(await get('/read', bearer(await bogus())), { status: 401, code: 'invalid_token' });
      assert.equal(jwks.fetches, 2, 'first unknown kid refetches');
      assertGuardFailure(await get('/read', bearer(await bogus())), { status: 401, code: 'invalid_token' });
      assert.equal(jwks.fetches, 2, 'second one within the cooldown does not');

      // Documented trade-off: a key first used inside the cooldown that a bogus kid just started
      // is refused until the cooldown ends (the token server should pre-publish new keys).
      await jwks.rotate();
      const fresh = await jwks.mint();
      assertGuardFailure(await get('/read', bearer(fresh)), { status: 401, code: 'invalid_token' });
      assert.equal(jwks.fetches, 2);
      await sleep(1050);
      assert.equal((await get('/read', bearer(fresh))).status, 200);
      assert.equal(jwks.fetches, 3, 'one fetch once the cooldown is over');
    });

    test('JWKS outage: 503 without challenge, retries rate-limited, recovers', async () => {
      const { jwks, guard, get } = await setup({ jwksRetryBackoffMs: 1000 });
      jwks.failWith(500);
      const token = await jwks.mint();
      assertGuardFailure(await get('/read', bearer(token)), { status: 503, code: 'temporarily_unavailable' });
      assert.equal(jwks.fetches, 1);
      const burst = await Promise.all(Array.from({ length: 20 }, () => get('/read', bearer(token))));
      for (const res of burst) assertGuardFailure(res, { status: 503, code: 'temporarily_unavailable' });
      assert.equal(jwks.fetches, 1, 'no refetch inside the retry backoff');
      jwks.failWith(undefined);
      await sleep(1050);
      assert.equal((await get('/read', bearer(token))).status, 200);
      assert.equal(jwks.fetches, 2);
      assert.equal(guard.stats().jwksFetchFailures, 1);
    });

    test('stale key set is refreshed in the background and kept when the refresh fails', async () => {
      const { jwks, guard, get } = await setup({ jwksMaxAgeMs: 200, jwksRetryBackoffMs: 10_000 });
      assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
      jwks.failWith(503);
      await sleep(250);
      // New tokens (not cached) still verify with the last good keys while the refresh fails.
      for (let i = 0; i < 5; i++) assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
      await sleep(20);
      assert.equal(jwks.fetches, 2, 'one background refresh attempt, then backoff');
      assert.equal(guard.stats().jwksFetchFailures, 1);
    });

    test('a key removed from the JWKS stops validating tokens, cached ones included', async () => {
      const { jwks, guard, get } = await setup();
      const oldToken = await jwks.mint();
      assert.equal((await get('/read', bearer(oldToken))).status, 200);
      assert.equal((await get('/read', bearer(oldToken))).status, 200);
      assert.equal(guard.stats().cacheHits, 1);
      await jwks.rotate({ keepOld: false });
      await guard.refreshKeys();
      assertGuardFailure(await get('/read', bearer(oldToken)), { status: 401, code: 'invalid_token' });
      assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
    });

    test('JWKS fetch timeout: 503', async () => {
      const { jwks, get } = await setup({ fetchTimeoutMs: 150 });
      jwks.delayMs = 1000;
      assertGuardFailure(await get('/read', bearer(await jwks.mint())), { status: 503, code: 'temporarily_unavailable' });
      jwks.delayMs = 0;
    });
  });
}
