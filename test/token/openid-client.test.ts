import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { startTestServer, type TestServer } from '../helpers/server.js';

// D1's side of the exchange, played by a real OAuth client library: discovery, Basic auth, the grant.
describe('a real OAuth client (openid-client) gets a token as D1 would', () => {
  let server: TestServer;
  let secret: string;
  before(async () => {
    server = await startTestServer();
    ({ clientSecret: secret } = await server.createClient('d1-thales', { scopes: ['consumer', 'otp'], defaultScopes: ['consumer'] }));
  });
  after(() => server.close());

  it('discovers the metadata and runs the client credentials grant with client_secret_basic', async () => {
    const config = await oidc.discovery(new URL(server.issuer), 'd1-thales', undefined, oidc.ClientSecretBasic(secret), {
      algorithm: 'oauth2',
      execute: [oidc.allowInsecureRequests],
    });
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'otp' });
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'otp');
    assert.ok(tokens.access_token.split('.').length === 3);
    assert.ok(tokens.expiresIn()! > 890);
  });

  it('surfaces invalid_client to the library for a wrong secret', async () => {
    const config = await oidc.discovery(new URL(server.issuer), 'd1-thales', undefined, oidc.ClientSecretBasic('wrong-secret'), {
      algorithm: 'oauth2',
      execute: [oidc.allowInsecureRequests],
    });
    await assert.rejects(oidc.clientCredentialsGrant(config), (err: any) => {
      // The library reports the Basic challenge of our 401 (the body's invalid_client is pinned in errors.test.ts).
      assert.equal(err.status, 401);
      assert.equal(err.cause[0].scheme, 'basic');
      assert.equal(err.cause[0].parameters.realm, 'd1-authz');
      return true;
    });
  });
});
