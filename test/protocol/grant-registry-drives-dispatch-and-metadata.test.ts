/**
 * The grant registry (src/protocol/grants): grant_type picks the grant, a value no grant handles is
 * unsupported_grant_type with a description listing the registry, a grant sees only the parameters
 * it declares, and the metadata lists exactly the registry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRANT_TYPES, type GrantType } from '../../src/model/client.js';
import { authorizationServerMetadata } from '../../src/http/plugins/well-known.js';
import type { Grant, GrantRequest } from '../../src/protocol/grants/grant.js';
import { GRANT_REGISTRY, grantOf, grantParameters, supportedGrantTypes } from '../../src/protocol/grants/index.js';
import { OAuthError } from '../../src/protocol/oauth-error.js';
import { checkClientGrant, handleTokenRequest } from '../../src/protocol/token-endpoint.js';
import { basic, fakeClient, fakeDeps, request, SECRET } from './fakes.js';

const params = (body: string): ReadonlyMap<string, string> => new Map(new URLSearchParams(body));

function oauthError(code: string, description: string | RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof OAuthError, String(err));
    assert.equal(err.code, code);
    if (typeof description === 'string') assert.equal(err.description, description);
    else assert.match(err.description, description);
    return true;
  };
}

/** A grant that answers with its name and records what it was handed. */
function fakeGrant(grantType: string, parameters: readonly string[] = []): Grant & { seen: GrantRequest[] } {
  const seen: GrantRequest[] = [];
  return {
    grantType: grantType as GrantType,
    parameters,
    seen,
    async handle(grant) {
      seen.push(grant);
      return { access_token: grantType, token_type: 'Bearer', expires_in: 1 };
    },
  };
}

describe('grant registry: dispatch', () => {
  const a = fakeGrant('urn:example:a');
  const b = fakeGrant('urn:example:b');
  const table = [a, b];
  const cases: [string, string, Grant | [string, string]][] = [
    ['the first grant', 'grant_type=urn:example:a', a],
    ['the second grant', 'grant_type=urn:example:b&scope=x', b],
    ['an unknown grant, the description listing the table', 'grant_type=password', ['unsupported_grant_type', 'only grant_type=urn:example:a or grant_type=urn:example:b is supported']],
    ['a grant of another table', 'grant_type=client_credentials', ['unsupported_grant_type', 'only grant_type=urn:example:a or grant_type=urn:example:b is supported']],
    ['no grant_type', 'scope=x', ['invalid_request', 'grant_type is required']],
  ];
  for (const [name, body, expected] of cases) {
    it(name, () => {
      if (Array.isArray(expected)) assert.throws(() => grantOf(params(body), table), oauthError(...expected));
      else assert.equal(grantOf(params(body), table), expected);
    });
  }

  it('the real table: an unknown grant is refused before the client is authenticated, with the derived description', async () => {
    const { deps, recorded } = fakeDeps();
    await assert.rejects(
      handleTokenRequest(request('grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer', { authorization: basic('bank-d1', SECRET) }), deps),
      oauthError('unsupported_grant_type', 'only grant_type=client_credentials is supported'),
    );
    assert.deepEqual(recorded.secretChecks, []);
  });

  it('the real table: client_credentials authenticates the client and issues its token', async () => {
    const { deps, recorded } = fakeDeps();
    const { client, body } = await handleTokenRequest(request('grant_type=client_credentials&scope=otp', { authorization: basic('bank-d1', SECRET) }), deps);
    assert.equal(client.clientId, 'bank-d1');
    assert.deepEqual(body, { access_token: 'token-for-bank-d1', token_type: 'Bearer', expires_in: '900', scope: 'otp' });
    assert.deepEqual(recorded.issued, [{ clientId: 'bank-d1', scopes: ['otp'] }]);
  });

  it('a grant is handed only the parameters it declares (RFC 6749 §3.2: the others are ignored)', () => {
    const grant = fakeGrant('urn:example:a', ['scope', 'assertion']);
    const given = grantParameters(grant, params('grant_type=urn:example:a&scope=x&client_id=c&extra=1&assertion=jwt'));
    assert.deepEqual([...given], [['scope', 'x'], ['assertion', 'jwt']]);
    assert.deepEqual([...grantParameters(grant, params('grant_type=urn:example:a'))], []);
  });

  it('a client not registered for the grant is unauthorized_client', () => {
    assert.throws(() => checkClientGrant(fakeClient({ grantTypes: [] }), 'client_credentials'), oauthError('unauthorized_client', 'the client is not allowed to use this grant type'));
    assert.doesNotThrow(() => checkClientGrant(fakeClient(), 'client_credentials'));
  });
});

describe('grant registry: names and metadata', () => {
  it('covers every grant a client can be registered for, once, in the same order', () => {
    assert.deepEqual(supportedGrantTypes(), [...GRANT_TYPES]);
    assert.equal(new Set(supportedGrantTypes()).size, GRANT_REGISTRY.length);
  });
  it('is today client_credentials alone (what the metadata has always said)', () => {
    assert.deepEqual(supportedGrantTypes(), ['client_credentials']);
  });
  it('grant_types_supported is the table', () => {
    const metadata = authorizationServerMetadata({ issuer: 'https://as.example', signingAlg: 'PS256' });
    assert.deepEqual(metadata.grant_types_supported, GRANT_REGISTRY.map((g) => g.grantType));
  });
  it('a table of two lists both, in table order', () => {
    assert.deepEqual(supportedGrantTypes([fakeGrant('urn:example:b'), fakeGrant('urn:example:a')]), ['urn:example:b', 'urn:example:a']);
  });
});
