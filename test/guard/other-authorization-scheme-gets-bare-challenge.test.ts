/**
 * RFC 6750 §3.1: "If the request lacks any authentication information (e.g., the client was unaware
 * that authentication is necessary or attempted using an unsupported authentication method), the
 * resource server SHOULD NOT include an error code or other error information." A request whose
 * only credentials use another scheme (Basic, Digest, DPoP, ...) therefore gets the same bare 401
 * challenge as one without an Authorization header, through every adapter; a malformed Bearer
 * header is still a 400 invalid_request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createGuard } from '@d1-authz/guard';
import { ADAPTERS } from './apps.js';
import type { TestApp } from './apps.js';
import { AUDIENCE, assertGuardFailure, httpGet, startJwksServer } from './helpers.js';
import type { JwksServer } from './helpers.js';

for (const adapter of ADAPTERS) {
  describe(`another Authorization scheme through ${adapter.kind}`, () => {
    let jwks: JwksServer;
    let app: TestApp;
    const get = (headers: Record<string, string>) => httpGet(`${app.url}/read`, headers);

    before(async () => {
      jwks = await startJwksServer();
      app = await adapter.start(createGuard({ issuer: jwks.issuer, audience: AUDIENCE }));
    });
    after(async () => {
      await app?.close();
      await jwks?.close();
    });

    test('Basic, Digest, DPoP, Token and a bare scheme name: 401 with `Bearer realm=...` and no error attribute', async () => {
      const token = await jwks.mint();
      for (const authorization of [
        'Basic Y2xpZW50OnNlY3JldA==',
        'basic Y2xpZW50OnNlY3JldA==',
        'Digest username="client", realm="api", nonce="abc", uri="/read", response="00"',
        `DPoP ${token}`,
        `Token ${token}`,
        'Negotiate',
      ]) {
        const res = await get({ authorization });
        assertGuardFailure(res, { status: 401, code: undefined, token });
        assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${AUDIENCE}"`, authorization);
        assert.ok(!JSON.stringify(res.body).includes('Y2xpZW50OnNlY3JldA'), 'the credentials are not echoed');
      }
      assert.equal(jwks.fetches, 0, 'no key fetch for a request without a bearer token');
    });

    test('a malformed Bearer header is still 400 invalid_request', async () => {
      for (const authorization of ['Bearer', 'Bearer abc$def', 'Bearer a b', 'Bearer,abc']) {
        assertGuardFailure(await get({ authorization }), { status: 400, code: 'invalid_request' });
      }
    });
  });
}
