/**
 * Verified-token cache, revocation hook and certificate binding, through real HTTP for each adapter.
 * "Re-verified or not" is observed with guard.stats().signatureVerifications and the JWKS server's
 * fetch counter.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createGuard } from '@d1-authz/guard';
import type { AccessTokenClaims, GuardOptions } from '@d1-authz/guard';
import { ADAPTERS } from './apps.js';
import type { AppOptions } from './apps.js';
import { AUDIENCE, assertGuardFailure, bearer, httpGet, makeKey, startJwksServer } from './helpers.js';
import { sleep } from '../helpers/wait.js';

const CERT_HEADER = 'x-test-client-cert-thumbprint';
/** Stands in for a TLS-terminating proxy passing the client certificate thumbprint. */
const fromTestHeader: AppOptions['getPeerCertificateThumbprint'] = (req) => {
  const v = req.headers[CERT_HEADER];
  return typeof v === 'string' ? v : undefined;
};

for (const adapter of ADAPTERS) {
  describe(`token cache, revocation and binding through ${adapter.kind}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!();
    });

    async function setup(options: Partial<GuardOptions> = {}, appOptions: AppOptions = {}) {
      const jwks = await startJwksServer();
      cleanups.push(() => jwks.close());
      const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE, ...options });
      const app = await adapter.start(guard, appOptions);
      cleanups.push(() => app.close());
      const get = (path: string, headers: Record<string, string> = {}) => httpGet(`${app.url}${path}`, headers);
      return { jwks, guard, get };
    }

    test('repeat check of the same token: no JWKS call, no signature verification', async () => {
      const { jwks, guard, get } = await setup();
      const token = await jwks.mint();
      const first = await get('/read', bearer(token));
      assert.equal(first.status, 200);
      const s1 = guard.stats();
      assert.equal(s1.signatureVerifications, 1);
      assert.equal(jwks.fetches, 1);

      for (let i = 0; i < 5; i++) {
        const again = await get('/read', bearer(token));
        assert.equal(again.status, 200);
        assert.deepEqual(again.body, first.body);
      }
      const s2 = guard.stats();
      assert.equal(s2.signatureVerifications, 1, 'not re-verified');
      assert.equal(s2.cacheHits, s1.cacheHits + 5);
      assert.equal(jwks.fetches, 1, 'JWKS not called');
      assert.equal(s2.cacheSize, 1);
    });

    test('concurrent first checks of one token share a single verification', async () => {
      const { jwks, guard, get } = await setup();
      await get('/read', bearer(await jwks.mint())); // load keys
      const before = guard.stats().signatureVerifications;
      const token = await jwks.mint();
      const all = await Promise.all(Array.from({ length: 20 }, () => get('/read', bearer(token))));
      assert.ok(all.every((r) => r.status === 200));
      assert.equal(guard.stats().signatureVerifications, before + 1);
    });

    test('the cache never outlives exp: rejected after exp (tolerance 0); re-verified after exp (default tolerance)', async () => {
      // Both scenarios wait for a real exp, so they run side by side.
      const strict = async () => {
        const { jwks, guard, get } = await setup({ clockTolerance: 0 });
        const exp = Math.floor(Date.now() / 1000) + 2;
        const token = await jwks.mint({ claims: { exp } });
        assert.equal((await get('/read', bearer(token))).status, 200);
        assert.equal((await get('/read', bearer(token))).status, 200);
        assert.equal(guard.stats().cacheHits, 1);
        await sleep(exp * 1000 - Date.now() + 50);
        const res = await get('/read', bearer(token));
        assertGuardFailure(res, { status: 401, code: 'invalid_token', description: /expired/ });
        assert.equal(guard.stats().cacheHits, 1, 'not served from the cache after exp');
        assert.equal(guard.stats().cacheSize, 0);
      };
      const tolerant = async () => {
        const { jwks, guard, get } = await setup(); // default 30 s tolerance
        const exp = Math.floor(Date.now() / 1000) + 2;
        const token = await jwks.mint({ claims: { exp } });
        assert.equal((await get('/read', bearer(token))).status, 200);
        assert.equal((await get('/read', bearer(token))).status, 200);
        assert.equal(guard.stats().cacheHits, 1);
        await sleep(exp * 1000 - Date.now() + 50);
        const before = guard.stats();
        assert.equal((await get('/read', bearer(token))).status, 200, 'accepted within tolerance');
        assert.equal((await get('/read', bearer(token))).status, 200);
        const after = guard.stats();
        assert.equal(after.cacheHits, before.cacheHits, 'no cache hit after exp');
        assert.equal(after.signatureVerifications, before.signatureVerifications + 2, 'fully verified each time');
      };
      await Promise.all([strict(), tolerant()]);
    });

    test('failed tokens are not cached as valid; a valid token lacking a scope stays 403', async () => {
      const { jwks, guard, get } = await setup();
      const forged = await jwks.mint({ key: await makeKey(jwks.signingKey.kid) });
      assertGuardFailure(await get('/read', bearer(forged)), { status: 401, code: 'invalid_token' });
      assertGuardFailure(await get('/read', bearer(forged)), { status: 401, code: 'invalid_token' });
      assert.equal(guard.stats().signatureVerifications, 2);
      assert.equal(guard.stats().cacheSize, 0);

      const token = await jwks.mint({ claims: { scope: 'd1:read' } });
      assertGuardFailure(await get('/admin', bearer(token)), { status: 403, code: 'insufficient_scope', scope: 'd1:admin' });
      assertGuardFailure(await get('/admin', bearer(token)), { status: 403, code: 'insufficient_scope', scope: 'd1:admin' });
      assert.equal((await get('/read', bearer(token))).status, 200);
      assert.equal(guard.stats().signatureVerifications, 3);
    });

    test('cache is bounded by cacheMaxEntries (least recently used evicted)', async () => {
      const { jwks, guard, get } = await setup({ cacheMaxEntries: 3 });
      const tokens = await Promise.all(Array.from({ length: 4 }, () => jwks.mint()));
      for (const t of tokens.slice(0, 3)) assert.equal((await get('/read', bearer(t))).status, 200);
      assert.equal((await get('/read', bearer(tokens[0]!))).status, 200); // touch #0: #1 is now oldest
      assert.equal((await get('/read', bearer(tokens[3]!))).status, 200); // evicts #1
      assert.equal(guard.stats().cacheSize, 3);
      const v = guard.stats().signatureVerifications;
      assert.equal((await get('/read', bearer(tokens[0]!))).status, 200);
      assert.equal(guard.stats().signatureVerifications, v, '#0 still cached');
      assert.equal((await get('/read', bearer(tokens[1]!))).status, 200);
      assert.equal(guard.stats().signatureVerifications, v + 1, '#1 was evicted');
    });

    test('revoked token (isRevoked hook) is refused on a cache hit', async () => {
      const revoked = new Set<string>();
      const seen: Array<Readonly<AccessTokenClaims>> = [];
      const { jwks, guard, get } = await setup({
        isRevoked: async (claims) => {
          seen.push(claims);
          return revoked.has(claims.jti ?? '');
        },
      });
      const token = await jwks.mint();
      assert.equal((await get('/read', bearer(token))).status, 200);
      assert.equal((await get('/read', bearer(token))).status, 200);
      const before = guard.stats();
      assert.equal(before.cacheHits, 1);

      const jti = seen[0]!.jti!;
      assert.equal(seen[0]!.client_id, 'client-123');
      revoked.add(jti);
      assertGuardFailure(await get('/read', bearer(token)), { status: 401, code: 'invalid_token', description: /revoked/, token });
      const after = guard.stats();
      assert.equal(after.cacheHits, before.cacheHits + 1, 'it was a cache hit');
      assert.equal(after.signatureVerifications, before.signatureVerifications);
      assert.equal(seen.length, 3, 'hook called on every check');

      // Other tokens are unaffected.
      assert.equal((await get('/read', bearer(await jwks.mint()))).status, 200);
    });

    test('a failing revocation hook fails closed with 503', async () => {
      const { jwks, get } = await setup({
        isRevoked: () => {
          throw new Error('revocation feed down');
        },
      });
      assertGuardFailure(await get('/read', bearer(await jwks.mint())), { status: 503, code: 'temporarily_unavailable' });
    });

    test('certificate-bound token (cnf x5t#S256): mismatch or missing thumbprint is 401, on cache hits too', async () => {
      const { jwks, get } = await setup({}, { getPeerCertificateThumbprint: fromTestHeader });
      const thumb = 'A3h4yWQ8h1lxV6cRz3vYtq1o0g2f5GJ0bnQmR2vBx8s';
      const other = 'Z9h4yWQ8h1lxV6cRz3vYtq1o0g2f5GJ0bnQmR2vBx8s';
      const bound = await jwks.mint({ claims: { cnf: { 'x5t#S256': thumb } } });

      assert.equal((await get('/read', { ...bearer(bound), [CERT_HEADER]: thumb })).status, 200);
      // Now cached: the binding is still checked per request.
      assertGuardFailure(await get('/read', { ...bearer(bound), [CERT_HEADER]: other }), {
        status: 401,
        code: 'invalid_token',
        description: /certificate/,
        token: bound,
      });
      assertGuardFailure(await get('/read', bearer(bound)), { status: 401, code: 'invalid_token', description: /certificate/ });
      assert.equal((await get('/read', { ...bearer(bound), [CERT_HEADER]: thumb })).status, 200);

      // Unbound tokens do not need a certificate, and ignore one.
      const unbound = await jwks.mint();
      assert.equal((await get('/read', bearer(unbound))).status, 200);
      assert.equal((await get('/read', { ...bearer(unbound), [CERT_HEADER]: other })).status, 200);

      // Malformed cnf is an invalid token.
      const bad = await jwks.mint({ claims: { cnf: { 'x5t#S256': 42 } } });
      assertGuardFailure(await get('/read', { ...bearer(bad), [CERT_HEADER]: thumb }), { status: 401, code: 'invalid_token' });
    });
  });
}
