/**
 * The grant check at the token endpoint (RFC 6749 §4.4.2 "grant_type REQUIRED. Value MUST be set to
 * client_credentials", §5.2 unsupported_grant_type and unauthorized_client), through handleTokenRequest.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handleTokenRequest } from '../../src/protocol/token-endpoint.js';
import { invalidClientError, invalidRequestError, rejectsOAuthError } from '../helpers/oauth-assert.js';
import { basic, fakeClient, fakeDeps, tokenRequest } from '../helpers/protocol-fakes.js';

const UNSUPPORTED = { code: 'unsupported_grant_type', status: 400, description: 'only grant_type=client_credentials is supported' } as const;

describe('grant check: grant_type', () => {
  const refused: [string, string, Parameters<typeof rejectsOAuthError>[1]][] = [
    ['no grant_type', 'scope=consumer', invalidRequestError('grant_type is required')],
    ['an empty grant_type (omitted, §3.1)', 'grant_type=&scope=consumer', invalidRequestError('grant_type is required')],
    ['grant_type twice', 'grant_type=client_credentials&grant_type=client_credentials', invalidRequestError('parameter grant_type is repeated')],
    ['scope twice', 'grant_type=client_credentials&scope=otp&scope=otp', invalidRequestError('parameter scope is repeated')],
    ['the password grant', 'grant_type=password&username=a&password=b', { ...UNSUPPORTED, detail: /^grant_type password$/ }],
    ['an unknown grant', 'grant_type=urn:x:unknown', UNSUPPORTED],
    ['client_credentials in another case', 'grant_type=Client_Credentials', UNSUPPORTED],
    ['a long unknown grant, capped in the detail', `grant_type=${'g'.repeat(100)}`, { ...UNSUPPORTED, detail: /^grant_type g{32}$/ }],
  ];
  for (const [name, body, expected] of refused) {
    it(`refuses ${name}`, async () => {
      const { deps, recorded } = fakeDeps();
      await rejectsOAuthError(() => handleTokenRequest(tokenRequest(body), deps), expected);
      assert.equal(recorded.issued.length, 0);
    });
  }
  it('is checked before the client is authenticated: an unsupported grant costs no secret check', async () => {
    const { deps, recorded } = fakeDeps();
    await rejectsOAuthError(() => handleTokenRequest(tokenRequest('grant_type=password', { authorization: basic('bank-d1', 'wrong') }), deps), UNSUPPORTED);
    assert.equal(recorded.secretChecks.length, 0);
    assert.equal(recorded.failures.length, 0);
  });
  it('a supported grant with wrong credentials is invalid_client', async () => {
    const { deps } = fakeDeps();
    await rejectsOAuthError(() => handleTokenRequest(tokenRequest('grant_type=client_credentials', { authorization: basic('bank-d1', 'wrong') }), deps), invalidClientError());
  });
});

describe('grant check: the client may use the grant', () => {
  it('a client registered without client_credentials is unauthorized_client, after it authenticated', async () => {
    const { deps, recorded } = fakeDeps({ clients: [fakeClient({ grantTypes: [] })] });
    await rejectsOAuthError(() => handleTokenRequest(tokenRequest('grant_type=client_credentials'), deps), {
      code: 'unauthorized_client',
      status: 400,
      description: 'the client is not allowed to use this grant type',
      detail: /^client bank-d1$/,
    });
    assert.equal(recorded.secretChecks.length, 1);
    assert.equal(recorded.issued.length, 0);
  });
  it('a client with the grant gets a token with its default scopes', async () => {
    const { deps, recorded } = fakeDeps();
    const { client, body } = await handleTokenRequest(tokenRequest('grant_type=client_credentials'), deps);
    assert.equal(client.clientId, 'bank-d1');
    assert.deepEqual(body, { access_token: 'token-for-bank-d1', token_type: 'Bearer', expires_in: '900', expires_at: '2026-01-01T00:15:00.000Z', scope: 'consumer' });
    assert.deepEqual(recorded.issued, [{ clientId: 'bank-d1', scopes: ['consumer'], confirmation: undefined }]);
  });
  it("the client's own response shape wins over the server's", async () => {
    const { deps } = fakeDeps({ clients: [fakeClient({ expiresInFormat: 'number', expiresAt: false })] });
    const { body } = await handleTokenRequest(tokenRequest('grant_type=client_credentials&scope=otp'), deps);
    assert.deepEqual(body, { access_token: 'token-for-bank-d1', token_type: 'Bearer', expires_in: 900, scope: 'otp' });
  });
});
