/**
 * RFC 8705 client authentication is not only for the token endpoint: a client bound to a certificate
 * must present it at introspection, revocation and the revocation feed too, or a secret that leaked
 * alone would still read other clients' tokens and revoke its own. tls_client_auth works there too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { basic, createPki, FORM, httpsRequest, type Ca, type Issued, type Pki } from './pki.js';

const GRANT = 'grant_type=client_credentials';

describe('certificate binding at introspection, revocation and the revocation feed', () => {
  let pki: Pki;
  let ca: Ca;
  let d1: Issued;
  let other: Issued;
  let server: TestServer;
  let base: string;

  before(async () => {
    pki = createPki();
    ca = pki.ca('clients-ca');
    const serverCert = pki.server(ca);
    d1 = pki.issue(ca, 'rs', { subject: '/C=FR/O=Bank/CN=resource-server', dns: ['rs.bank.example'] });
    other = pki.issue(ca, 'other', { subject: '/C=FR/O=Bank/CN=someone-else', dns: ['other.bank.example'] });
    server = await startTestServer({ tlsCert: serverCert.certPath, tlsKey: serverCert.keyPath, tlsClientCa: ca.certPath });
    base = `${server.origin}/authz/d1/v1/oauth2`;
  });
  after(async () => {
    await server?.close();
    pki?.cleanup();
  });

  const post = (path: string, client: Issued, headers: Record<string, string>, body: string) =>
    httpsRequest(`${base}/${path}`, { method: 'POST', headers: { ...FORM, ...headers }, body, ca: ca.cert, client });
  const assertInvalidClient = (res: { status: number; json: any }) => {
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'invalid_client');
  };

  it('introspection: a bound resource server needs its certificate as well as its secret', async () => {
    const rs = await server.createClient('bound-rs', { introspect: true, tls: { sanDns: 'rs.bank.example' } });
    const auth = { authorization: basic(rs.clientId, rs.clientSecret) };
    const issued = await post('token', d1, auth, GRANT);
    assert.equal(issued.status, 200);
    const form = `token=${issued.json.access_token}`;

    const ok = await post('introspect', d1, auth, form);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.active, true);
    assertInvalidClient(await post('introspect', other, auth, form));
  });

  it('the revocation feed: the same binding on a GET', async () => {
    const rs = await server.createClient('bound-feed', { introspect: true, tls: { sanDns: 'rs.bank.example' } });
    const auth = { authorization: basic(rs.clientId, rs.clientSecret) };
    const ok = await httpsRequest(`${base}/revocations`, { headers: auth, ca: ca.cert, client: d1 });
    assert.equal(ok.status, 200);
    assert.ok(Array.isArray(ok.json.revocations));
    const refused = await httpsRequest(`${base}/revocations`, { headers: auth, ca: ca.cert, client: other });
    assertInvalidClient(refused);
  });

  it('revocation: a stolen secret without the certificate cannot revoke the client\'s tokens', async () => {
    const c = await server.createClient('bound-revoker', { tls: { sanDns: 'rs.bank.example' } });
    const auth = { authorization: basic(c.clientId, c.clientSecret) };
    const issued = await post('token', d1, auth, GRANT);
    const token = issued.json.access_token as string;
    assertInvalidClient(await post('revoke', other, auth, `token=${token}`));
    const inspector = await server.createClient('inspector', { introspect: true });
    const inspect = () => post('introspect', d1, { authorization: basic(inspector.clientId, inspector.clientSecret) }, `token=${token}`);
    assert.equal((await inspect()).json.active, true, 'the refused revocation changed nothing');
    assert.equal((await post('revoke', d1, auth, `token=${token}`)).status, 200);
    assert.equal((await inspect()).json.active, false);
  });

  it('tls_client_auth clients introspect and revoke with client_id and their certificate, no secret', async () => {
    const c = await server.createClient('mtls-rs', { introspect: true, tls: { authMethod: 'tls_client_auth', sanDns: 'rs.bank.example' } });
    const issued = await post('token', d1, {}, `${GRANT}&client_id=${c.clientId}`);
    assert.equal(issued.status, 200);
    const token = issued.json.access_token as string;
    const introspected = await post('introspect', d1, {}, `token=${token}&client_id=${c.clientId}`);
    assert.equal(introspected.status, 200);
    assert.equal(introspected.json.client_id, 'mtls-rs');
    assertInvalidClient(await post('introspect', other, {}, `token=${token}&client_id=${c.clientId}`));
    // Its secret is not its method, here as at the token endpoint.
    assertInvalidClient(await post('introspect', d1, { authorization: basic(c.clientId, c.clientSecret) }, `token=${token}`));
    assert.equal((await post('revoke', d1, {}, `token=${token}&client_id=${c.clientId}`)).status, 200);
    assert.equal((await post('introspect', d1, {}, `token=${token}&client_id=${c.clientId}`)).json.active, false);
  });

  it('metadata advertises tls_client_auth for introspection and revocation', async () => {
    const meta = await httpsRequest(`${server.origin}/authz/d1/v1/.well-known/oauth-authorization-server`, { ca: ca.cert, client: d1 });
    assert.deepEqual(meta.json.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'tls_client_auth']);
    assert.deepEqual(meta.json.revocation_endpoint_auth_methods_supported, ['client_secret_basic', 'tls_client_auth']);
  });
});
