/**
 * The client-authentication registry (src/protocol/client-auth): which method a request presents,
 * what a request with none (or two) gets, that the method used is checked against the client's
 * registration whatever the method, and that the metadata lists exactly the registry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TOKEN_ENDPOINT_AUTH_METHODS } from '../../src/model/client.js';
import { authorizationServerMetadata } from '../../src/http/plugins/well-known.js';
import { authenticateClient } from '../../src/protocol/client-authentication.js';
import { CLIENT_AUTH_METHODS, presentedAuthMethod, supportedAuthMethods } from '../../src/protocol/client-auth/index.js';
import type { ClientAuthMethod } from '../../src/protocol/client-auth/method.js';
import { OAuthError } from '../../src/protocol/oauth-error.js';
import { clientAuthMethods, tlsMetadata } from '../../src/tls/policy.js';
import { basic, certificate, fakeClient, fakeDeps, request, SECRET } from './fakes.js';

const params = (body: string): ReadonlyMap<string, string> => new Map(new URLSearchParams(body));
const TLS_CLIENT = fakeClient({ clientId: 'mtls-d1', tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=d1-client,O=Thales DIS,C=FR' });
const clients = [fakeClient(), TLS_CLIENT];

function oauthError(code: string, status: number, detail?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof OAuthError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.status, status);
    if (detail !== undefined) assert.equal(err.detail ?? err.description, detail);
    return true;
  };
}

describe('client-auth registry: the method a request presents', () => {
  const cert = certificate();
  const cases: [string, string, { authorization?: string; cert?: boolean }, string | undefined][] = [
    ['Basic alone', 'grant_type=client_credentials', { authorization: basic('bank-d1', SECRET) }, 'client_secret_basic'],
    ['client_id in the form and a certificate', 'client_id=mtls-d1', { cert: true }, 'tls_client_auth'],
    ['Basic, client_id and a certificate: the header is the method, the certificate its binding', 'client_id=bank-d1', { authorization: basic('bank-d1', SECRET), cert: true }, 'client_secret_basic'],
    ['a certificate without client_id (RFC 8705 §2: it MUST be included)', 'scope=otp', { cert: true }, undefined],
    ['client_id without a certificate', 'client_id=mtls-d1', {}, undefined],
    ['client_id, certificate and client_secret in the body', 'client_id=mtls-d1&client_secret=x', { cert: true }, undefined],
    ['nothing', 'grant_type=client_credentials', {}, undefined],
  ];
  for (const [name, body, o, expected] of cases) {
    it(name, () => {
      const req = request(body, { ...(o.authorization ? { authorization: o.authorization } : {}), ...(o.cert ? { clientCertificate: cert } : {}) });
      assert.equal(presentedAuthMethod(req, params(body))?.method, expected);
    });
  }

  it('two methods claiming one request are refused: RFC 6749 §2.3.1 "MUST NOT use more than one"', () => {
    const claimsAll = (method: string): ClientAuthMethod => ({ ...CLIENT_AUTH_METHODS[0]!, method: method as ClientAuthMethod['method'], presented: () => true });
    assert.throws(() => presentedAuthMethod(request(''), params(''), [claimsAll('a'), claimsAll('b')]), oauthError('invalid_request', 400, 'more than one client authentication method was used'));
    assert.equal(presentedAuthMethod(request(''), params(''), [claimsAll('a')])?.method, 'a');
  });
});

describe('client-auth registry: authenticating with the chosen method', () => {
  const cert = certificate();
  it('Basic authenticates by secret, the lockout admitting the attempt first', async () => {
    const { deps, recorded } = fakeDeps(clients);
    const client = await authenticateClient(request('', { authorization: basic('bank-d1', SECRET) }), params(''), deps);
    assert.equal(client.clientId, 'bank-d1');
    assert.deepEqual(recorded.secretChecks, ['bank-d1']);
    assert.deepEqual(recorded.admitted.map((a) => [a.clientId, a.secret]), [['bank-d1', SECRET]]);
  });
  it('client_id and a certificate authenticate by certificate, no secret checked', async () => {
    const { deps, recorded } = fakeDeps(clients);
    const client = await authenticateClient(request('client_id=mtls-d1', { clientCertificate: cert }), params('client_id=mtls-d1'), deps);
    assert.equal(client.clientId, 'mtls-d1');
    assert.deepEqual(recorded.certificateChecks, ['mtls-d1']);
    assert.deepEqual(recorded.secretChecks, []);
    assert.deepEqual(recorded.admitted.map((a) => [a.clientId, a.secret]), [['mtls-d1', undefined]]);
  });

  const refused: [string, string, { authorization?: string; cert?: boolean; noCertificateAuth?: boolean }, [string, number, string], string | undefined][] = [
    ['neither', '', {}, ['invalid_client', 401, 'no client credentials'], 'missing_credentials'],
    ['a secret in the body only', 'client_id=bank-d1&client_secret=x', {}, ['invalid_client', 401, 'client_secret_post is not supported: use HTTP Basic'], 'missing_credentials'],
    ['a secret in both header and body', 'client_secret=x', { authorization: basic('bank-d1', SECRET) }, ['invalid_request', 400, 'client credentials were sent both in the header and in the body'], undefined],
    ['a client_id in the body naming another client', 'client_id=other', { authorization: basic('bank-d1', SECRET) }, ['invalid_request', 400, 'client_id in the body differs from the authenticated client'], undefined],
    ['a malformed Basic header', '', { authorization: 'Basic !!!' }, ['invalid_client', 401, 'authorization credentials are not base64'], 'malformed_credentials'],
    ['a wrong secret', '', { authorization: basic('bank-d1', 'wrong') }, ['invalid_client', 401, 'wrong_secret (client_id bank-d1)'], 'wrong_secret'],
    ['tls_client_auth where the server takes no certificate logins', 'client_id=mtls-d1', { cert: true, noCertificateAuth: true }, ['invalid_client', 401, 'tls_client_auth is not enabled'], 'missing_credentials'],
    ['a tls_client_auth client using its (unused) secret', '', { authorization: basic('mtls-d1', SECRET), cert: true }, ['invalid_client', 401, 'client mtls-d1 is registered for tls_client_auth but used client_secret_basic'], 'certificate_mismatch'],
    ['a Basic client presenting only its certificate', 'client_id=bank-d1', { cert: true }, ['invalid_client', 401, 'client bank-d1 is registered for client_secret_basic but used tls_client_auth'], 'certificate_mismatch'],
  ];
  for (const [name, body, o, expected, reported] of refused) {
    it(`refuses ${name}`, async () => {
      const { deps, recorded } = fakeDeps(clients, { certificates: !o.noCertificateAuth });
      const req = request(body, { ...(o.authorization ? { authorization: o.authorization } : {}), ...(o.cert ? { clientCertificate: cert } : {}) });
      await assert.rejects(authenticateClient(req, params(body), deps), oauthError(...expected));
      assert.deepEqual(recorded.failures.map((f) => f.reason), reported === undefined ? [] : [reported]);
      // The lockout counts every invalid_client from an address, and nothing else.
      assert.equal(recorded.failed.length, expected[0] === 'invalid_client' ? 1 : 0);
    });
  }
});

describe('client-auth registry: names and metadata', () => {
  it('covers every method a client can be registered for, once, in the same order', () => {
    assert.deepEqual(CLIENT_AUTH_METHODS.map((m) => m.method), [...TOKEN_ENDPOINT_AUTH_METHODS]);
  });
  it('without client certificates only the methods that need none are supported', () => {
    assert.deepEqual(supportedAuthMethods({ clientCertificates: false }), CLIENT_AUTH_METHODS.filter((m) => !m.needsClientCertificate).map((m) => m.method));
    assert.deepEqual(supportedAuthMethods({ clientCertificates: false }), ['client_secret_basic']);
    assert.deepEqual(supportedAuthMethods({ clientCertificates: true }), CLIENT_AUTH_METHODS.map((m) => m.method));
  });

  const base = { issuer: 'https://as.example', signingAlg: 'PS256' };
  const noCertificates = { tlsClientCa: undefined, trustedProxies: [], clientCertHeader: undefined } as unknown as Parameters<typeof tlsMetadata>[0];
  const withCa = { ...noCertificates, tlsClientCa: '/etc/ca.pem' } as Parameters<typeof tlsMetadata>[0];
  it('token_endpoint_auth_methods_supported is the table without certificates, all of it with them, at the same place', () => {
    const plain = authorizationServerMetadata({ ...base, extraMetadata: tlsMetadata(noCertificates) });
    assert.deepEqual(plain.token_endpoint_auth_methods_supported, supportedAuthMethods({ clientCertificates: false }));
    assert.deepEqual(clientAuthMethods(noCertificates), supportedAuthMethods({ clientCertificates: false }));
    const mtls = authorizationServerMetadata({ ...base, extraMetadata: tlsMetadata(withCa) });
    assert.deepEqual(mtls.token_endpoint_auth_methods_supported, ['client_secret_basic', 'tls_client_auth']);
    assert.deepEqual(clientAuthMethods(withCa), CLIENT_AUTH_METHODS.map((m) => m.method));
    assert.deepEqual(Object.keys(mtls).slice(0, 7), Object.keys(plain));
    assert.deepEqual(Object.keys(plain), ['issuer', 'token_endpoint', 'jwks_uri', 'grant_types_supported', 'token_endpoint_auth_methods_supported', 'response_types_supported', 'access_token_signing_alg_values_supported']);
  });
});
