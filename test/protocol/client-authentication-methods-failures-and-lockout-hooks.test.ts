/**
 * Client authentication (RFC 6749 §2.3, RFC 8705 §2) with fake deps: which method a request uses,
 * what each failure answers, and what the lockout and the audit trail are told.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authenticateClient, authenticateHeaderClient, type ClientRequest } from '../../src/protocol/client-authentication.js';
import { parseFormBody } from '../../src/protocol/form-body.js';
import { lockedOut, OAuthError } from '../../src/protocol/oauth-error.js';
import { oauthErrorResponse } from '../../src/http/oauth-error-response.js';
import { invalidClientError, invalidRequestError, rejectsOAuthError } from '../helpers/oauth-assert.js';
import { basic, fakeCertificate, fakeClient, fakeDeps, FORM, type FakeDepsOptions } from '../helpers/protocol-fakes.js';

const ADDRESS = '192.0.2.7';

function request(body: string, overrides: Partial<ClientRequest> = {}): [ClientRequest, ReadonlyMap<string, string>] {
  return [{ contentType: FORM, authorization: basic('bank-d1', 'right-secret'), body, sourceAddress: ADDRESS, ...overrides }, parseFormBody(body)];
}

async function authenticate(body: string, overrides: Partial<ClientRequest> = {}, options: FakeDepsOptions = {}) {
  const { deps, recorded } = fakeDeps(options);
  const [req, params] = request(body, overrides);
  const outcome = await authenticateClient(req, params, deps).then(
    (client) => ({ client, error: undefined }),
    (error: unknown) => ({ client: undefined, error }),
  );
  return { ...outcome, recorded };
}

describe('client authentication: refused presentations', () => {
  const cases: {
    name: string;
    body?: string;
    overrides?: Partial<ClientRequest>;
    options?: FakeDepsOptions;
    expected: Parameters<typeof rejectsOAuthError>[1];
    /** What the audit hook hears; undefined: nothing (not a client authentication failure). */
    reported?: { reason: string; presentedClientId: string | undefined; knownClient: boolean };
    /** What the lockout is told of the failure. */
    counted?: { address: string; clientId?: string };
  }[] = [
    {
      name: 'no credentials at all',
      overrides: { authorization: undefined },
      expected: invalidClientError(/^no client credentials$/),
      reported: { reason: 'missing_credentials', presentedClientId: undefined, knownClient: false },
      counted: { address: ADDRESS },
    },
    {
      name: 'a client_id alone (no secret, no certificate)',
      body: 'grant_type=client_credentials&client_id=bank-d1',
      overrides: { authorization: undefined },
      expected: invalidClientError(/^no client credentials$/),
      reported: { reason: 'missing_credentials', presentedClientId: 'bank-d1', knownClient: false },
      counted: { address: ADDRESS },
    },
    {
      name: 'client_secret_post (not supported)',
      body: 'grant_type=client_credentials&client_id=bank-d1&client_secret=right-secret',
      overrides: { authorization: undefined },
      expected: invalidClientError(/^client_secret_post is not supported: use HTTP Basic$/),
      reported: { reason: 'missing_credentials', presentedClientId: 'bank-d1', knownClient: false },
      counted: { address: ADDRESS },
    },
    {
      name: 'two methods at once: Basic and a client_secret in the body (§2.3.1)',
      body: 'grant_type=client_credentials&client_secret=right-secret',
      expected: invalidRequestError('client credentials were sent both in the header and in the body'),
    },
    {
      name: 'a body client_id naming another client than the header',
      body: 'grant_type=client_credentials&client_id=other',
      expected: invalidRequestError('client_id in the body differs from the authenticated client'),
    },
    {
      name: 'a malformed Basic header',
      body: 'grant_type=client_credentials&client_id=bank-d1',
      overrides: { authorization: 'Basic !!!' },
      expected: invalidClientError(/^authorization credentials are not base64$/),
      reported: { reason: 'malformed_credentials', presentedClientId: 'bank-d1', knownClient: false },
      counted: { address: ADDRESS },
    },
    {
      name: 'a wrong secret',
      overrides: { authorization: basic('bank-d1', 'wrong') },
      expected: invalidClientError(/^wrong_secret \(client_id bank-d1\)$/),
      reported: { reason: 'wrong_secret', presentedClientId: 'bank-d1', knownClient: true },
      counted: { address: ADDRESS, clientId: 'bank-d1' },
    },
    {
      name: 'an unknown client',
      overrides: { authorization: basic('nobody', 'right-secret') },
      expected: invalidClientError(/^unknown_client \(client_id nobody\)$/),
      reported: { reason: 'unknown_client', presentedClientId: 'nobody', knownClient: false },
      counted: { address: ADDRESS, clientId: 'nobody' },
    },
    {
      name: 'a disabled client with its right secret',
      options: { clients: [fakeClient({ enabled: false })] },
      expected: invalidClientError(/^disabled \(client_id bank-d1\)$/),
      reported: { reason: 'disabled', presentedClientId: 'bank-d1', knownClient: true },
      counted: { address: ADDRESS, clientId: 'bank-d1' },
    },
    {
      name: 'a secret with a control character (never looked up: malformed, the id says nothing)',
      overrides: { authorization: basic('bank-d1', 'right-secret\u0000') },
      expected: invalidClientError(/^control_characters \(client_id bank-d1\)$/),
      reported: { reason: 'malformed_credentials', presentedClientId: 'bank-d1', knownClient: false },
      counted: { address: ADDRESS, clientId: 'bank-d1' },
    },
    {
      name: 'a client bound to a certificate, with its secret but no certificate',
      options: { clients: [fakeClient({ tlsClientCertificateThumbprint: 'thumb-1' })] },
      expected: invalidClientError(/^client bank-d1 must present a client certificate; none was presented$/),
      reported: { reason: 'certificate_mismatch', presentedClientId: 'bank-d1', knownClient: true },
      counted: { address: ADDRESS, clientId: 'bank-d1' },
    },
    {
      name: 'a tls_client_auth client falling back to its secret',
      options: { clients: [fakeClient({ tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=d1 client,O=Bank,C=FR' })] },
      overrides: { clientCertificate: fakeCertificate() },
      expected: invalidClientError(/^client bank-d1 is registered for tls_client_auth but used client_secret_basic$/),
      reported: { reason: 'certificate_mismatch', presentedClientId: 'bank-d1', knownClient: true },
      counted: { address: ADDRESS, clientId: 'bank-d1' },
    },
    {
      // Regression: counted by the lockout but not told to the audit hook, unlike every other invalid_client here.
      name: 'tls_client_auth when the server has it off',
      body: 'grant_type=client_credentials&client_id=bank-d1',
      overrides: { authorization: undefined, clientCertificate: fakeCertificate() },
      expected: invalidClientError(/^tls_client_auth is not enabled$/),
      reported: { reason: 'missing_credentials', presentedClientId: 'bank-d1', knownClient: false },
      counted: { address: ADDRESS, clientId: 'bank-d1' },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { error, recorded } = await authenticate(c.body ?? 'grant_type=client_credentials', c.overrides, c.options);
      await rejectsOAuthError(() => Promise.reject(error), c.expected);
      assert.deepEqual(
        recorded.failures.map(({ reason, presentedClientId, knownClient }) => ({ reason, presentedClientId, knownClient })),
        c.reported ? [c.reported] : [],
      );
      assert.deepEqual(recorded.failed, c.counted ? [c.counted] : []);
    });
  }

  it('invalid_client is answered 401 with a Basic challenge (RFC 6749 §5.2)', async () => {
    const { error } = await authenticate('grant_type=client_credentials', { authorization: basic('bank-d1', 'wrong') });
    assert.ok(error instanceof OAuthError);
    const response = oauthErrorResponse(error, 'd1-authz');
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Basic realm="d1-authz", charset="UTF-8"');
    assert.deepEqual(JSON.parse(response.body), { error: 'invalid_client', error_description: 'client authentication failed' });
    assert.doesNotMatch(response.body, /wrong_secret|bank-d1/, 'the reason and the id stay private');
  });
});

describe('client authentication: the lockout hooks', () => {
  it('an attempt is admitted with its id, secret and address before the secret is checked', async () => {
    const { client, recorded } = await authenticate('grant_type=client_credentials');
    assert.equal(client?.clientId, 'bank-d1');
    assert.deepEqual(recorded.admitted, [{ clientId: 'bank-d1', secret: 'right-secret', address: ADDRESS }]);
    assert.deepEqual(recorded.secretChecks, [{ credentials: { clientId: 'bank-d1', secret: 'right-secret' }, source: { address: ADDRESS } }]);
    assert.deepEqual(recorded.failed, []);
    assert.deepEqual(recorded.failures, []);
  });
  it('a refused attempt is not verified, and its refusal is not counted as a failure', async () => {
    const { error, recorded } = await authenticate('grant_type=client_credentials', {}, { refuseAttempt: lockedOut(30, 'locked') });
    await rejectsOAuthError(() => Promise.reject(error), {
      code: 'temporarily_unavailable',
      status: 429,
      description: 'too many failed client authentications from this address, retry later',
    });
    assert.equal((error as OAuthError).headers?.['retry-after'], '30');
    assert.equal(recorded.admitted.length, 1);
    assert.deepEqual(recorded.secretChecks, []);
    assert.deepEqual(recorded.failed, []);
  });
  it('a request with a certificate lets the lockout ask whether it is the bound one', async () => {
    const cert = fakeCertificate();
    const { recorded } = await authenticate('grant_type=client_credentials', { clientCertificate: cert });
    const check = recorded.admitted[0]?.presentsBoundCertificate;
    assert.ok(check);
    assert.equal(check(fakeClient({ tlsClientCertificateThumbprint: 'thumb-1' })), true);
    assert.equal(check(fakeClient({ tlsClientCertificateThumbprint: 'other' })), false);
    assert.equal(check(fakeClient()), false, 'a client bound to nothing is not proven by any certificate');
  });
  it('an IPv6 source queues by its /64, the lockout still hears the address as sent', async () => {
    const { recorded } = await authenticate('grant_type=client_credentials', { authorization: basic('bank-d1', 'wrong'), sourceAddress: '2001:db8:1:2:3:4:5:6' });
    assert.deepEqual(recorded.secretChecks[0]?.source, { address: '2001:db8:1:2::/64' });
    assert.deepEqual(recorded.failed, [{ address: '2001:db8:1:2:3:4:5:6', clientId: 'bank-d1' }]);
  });
  it('without a source address the lockout is neither asked nor told', async () => {
    const { recorded } = await authenticate('grant_type=client_credentials', { authorization: basic('bank-d1', 'wrong'), sourceAddress: undefined });
    assert.deepEqual(recorded.admitted, []);
    assert.deepEqual(recorded.failed, []);
    assert.equal(recorded.secretChecks[0]?.source, undefined);
    assert.equal(recorded.failures.length, 1, 'the audit trail still hears of it');
  });
  it('no lockout wired: the same failure, no hooks', async () => {
    const { error } = await authenticate('grant_type=client_credentials', { authorization: basic('bank-d1', 'wrong') }, { noLockout: true });
    await rejectsOAuthError(() => Promise.reject(error), invalidClientError(/^wrong_secret/));
  });
});

describe('client authentication: tls_client_auth (RFC 8705 §2)', () => {
  const mtlsClient = fakeClient({ tokenEndpointAuthMethod: 'tls_client_auth', tlsClientAuthSubjectDn: 'CN=d1 client,O=Bank,C=FR' });
  const body = 'grant_type=client_credentials&client_id=bank-d1';
  const viaCertificate = { authorization: undefined, clientCertificate: fakeCertificate() };

  it('a client_id, a certificate and no secret: the client named, its certificate checked', async () => {
    const { client, recorded } = await authenticate(body, viaCertificate, { clients: [mtlsClient], certificateAuth: true });
    assert.equal(client?.clientId, 'bank-d1');
    assert.deepEqual(recorded.certificateLookups, ['bank-d1']);
    assert.deepEqual(recorded.secretChecks, []);
    assert.equal(recorded.admitted[0]?.secret, undefined);
  });
  it('a certificate with another subject', async () => {
    const { error, recorded } = await authenticate(body, { ...viaCertificate, clientCertificate: fakeCertificate({ subjectDn: 'CN=mallory,O=Bank,C=FR' }) }, { clients: [mtlsClient], certificateAuth: true });
    await rejectsOAuthError(() => Promise.reject(error), invalidClientError(/^client certificate \(tls\) subject DN does not match client bank-d1$/));
    assert.equal(recorded.failures[0]?.reason, 'certificate_mismatch');
  });
  it('a client_secret_basic client cannot use tls_client_auth', async () => {
    const { error } = await authenticate(body, viaCertificate, { certificateAuth: true });
    await rejectsOAuthError(() => Promise.reject(error), invalidClientError(/^client bank-d1 is registered for client_secret_basic but used tls_client_auth$/));
  });
  it('an unknown client_id', async () => {
    const { error, recorded } = await authenticate('grant_type=client_credentials&client_id=nobody', viaCertificate, { clients: [mtlsClient], certificateAuth: true });
    await rejectsOAuthError(() => Promise.reject(error), invalidClientError(/^unknown_client \(tls_client_auth, client_id nobody\)$/));
    assert.deepEqual(recorded.failures.map((f) => [f.reason, f.knownClient]), [['unknown_client', false]]);
  });
  it('a certificate with a Basic header is client_secret_basic, not tls_client_auth', async () => {
    const { client, recorded } = await authenticate(body, { clientCertificate: fakeCertificate() }, { certificateAuth: true });
    assert.equal(client?.clientId, 'bank-d1');
    assert.deepEqual(recorded.certificateLookups, []);
    assert.equal(recorded.secretChecks.length, 1);
  });
});

describe('client authentication of a GET (header only)', () => {
  it('no header: invalid_client, reported missing', async () => {
    const { deps, recorded } = fakeDeps();
    await rejectsOAuthError(() => authenticateHeaderClient(undefined, undefined, deps, ADDRESS), invalidClientError(/^no client credentials$/));
    assert.deepEqual(recorded.failures.map((f) => f.reason), ['missing_credentials']);
    assert.deepEqual(recorded.failed, [{ address: ADDRESS }]);
  });
  it('a malformed header: reported malformed, no id', async () => {
    const { deps, recorded } = fakeDeps();
    await rejectsOAuthError(() => authenticateHeaderClient(`Basic ${Buffer.from('nocolon').toString('base64')}`, undefined, deps, ADDRESS), invalidClientError(/no colon/));
    assert.deepEqual(recorded.failures.map((f) => [f.reason, f.presentedClientId]), [['malformed_credentials', undefined]]);
  });
  it('a wrong secret, then the right one', async () => {
    const { deps, recorded } = fakeDeps();
    await rejectsOAuthError(() => authenticateHeaderClient(basic('bank-d1', 'nope'), undefined, deps, ADDRESS), invalidClientError(/^wrong_secret/));
    assert.equal((await authenticateHeaderClient(basic('bank-d1', 'right-secret'), undefined, deps, ADDRESS)).clientId, 'bank-d1');
    assert.equal(recorded.admitted.length, 2);
    assert.deepEqual(recorded.failed, [{ address: ADDRESS, clientId: 'bank-d1' }]);
  });
});
