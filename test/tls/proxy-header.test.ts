/**
 * Behind a TLS-terminating proxy (D1AUTHZ_TRUSTED_PROXIES): the client certificate arrives in a
 * header (nginx URL-encoded PEM, Envoy x-forwarded-client-cert). Honoured from a trusted peer,
 * ignored (and logged, without its content) from any other.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createPki, jwtPayload, type Ca, type Issued, type Pki } from './pki.js';
import { sleep } from '../helpers/wait.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const GRANT = 'grant_type=client_credentials';

/** What nginx sends for $ssl_client_escaped_cert. */
const nginxHeader = (cert: Issued) => encodeURIComponent(cert.cert);
const sha256Hex = (cert: Issued) => createHash('sha256').update(cert.x509.raw).digest('hex');

describe('client certificate from a proxy header', () => {
  let pki: Pki;
  let ca: Ca;
  let d1: Issued;
  let other: Issued;

  before(() => {
    pki = createPki();
    ca = pki.ca('proxy-ca');
    d1 = pki.issue(ca, 'd1', { subject: '/C=FR/O=Thales DIS/CN=d1-client', dns: ['d1.thales.example'], uris: ['spiffe://thales/d1'] });
    other = pki.issue(ca, 'other', { subject: '/C=FR/O=Thales DIS/CN=other', dns: ['other.thales.example'] });
  });
  after(() => pki?.cleanup());

  describe('from a trusted peer (127.0.0.1/32)', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ trustedProxies: '127.0.0.1/32' });
      await server.createClient('mtls', { tls: { authMethod: 'tls_client_auth', sanDns: 'd1.thales.example', boundTokens: true } });
      await server.createClient('pinned', { tls: { authMethod: 'tls_client_auth', sanDns: 'd1.thales.example', thumbprint: d1.thumbprint } });
      await server.createClient('by-dn', { tls: { authMethod: 'tls_client_auth', subjectDn: 'CN=d1-client,O=Thales DIS,C=FR' } });
    });
    after(() => server?.close());

    const tlsAuth = (clientId: string, headers: Record<string, string>) => server.post(`${GRANT}&client_id=${clientId}`, { ...FORM, ...headers });

    it('advertises tls_client_auth and bound tokens (plain HTTP on loopback, certificates via the proxy)', async () => {
      const meta = await (await fetch(`${server.origin}/authz/d1/v1/.well-known/oauth-authorization-server`)).json();
      assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['client_secret_basic', 'tls_client_auth']);
      assert.equal(meta.tls_client_certificate_bound_access_tokens, true);
      assert.match(server.issuer, /^http:\/\//);
    });

    it('nginx: URL-encoded PEM in x-ssl-client-cert', async () => {
      const res = await tlsAuth('mtls', { 'x-ssl-client-cert': nginxHeader(d1) });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.deepEqual(jwtPayload(res.json.access_token).cnf, { 'x5t#S256': d1.thumbprint });
      assert.equal((await tlsAuth('mtls', { 'x-ssl-client-cert': nginxHeader(other) })).json.error, 'invalid_client');
      // The legacy $ssl_client_cert form (raw PEM, continuation lines indented by a tab) is read too.
      const legacy = d1.cert.trim().split('\n').join('\n\t').replace(/\n/g, ' ');
      assert.equal((await tlsAuth('mtls', { 'x-ssl-client-cert': legacy })).status, 200);
    });

    it('believes only the configured header: a client-sent x-forwarded-client-cert passed through nginx is ignored', async () => {
      const xfcc = `Hash=${sha256Hex(d1)};DNS=d1.thales.example`;
      assert.equal((await tlsAuth('pinned', { 'x-forwarded-client-cert': xfcc })).json.error, 'invalid_client');
    });

    it('a malformed forwarded certificate is invalid_request (400), never a 5xx', async () => {
      for (const headers of <Record<string, string>[]>[
        { 'x-ssl-client-cert': 'not-a-certificate' },
        { 'x-ssl-client-cert': '%E0%A4%A' },
        { 'x-ssl-client-cert': encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----') },
      ]) {
        const res = await tlsAuth('mtls', headers);
        assert.equal(res.status, 400, JSON.stringify(headers));
        assert.equal(res.json.error, 'invalid_request');
        assert.equal(res.json.error_description, 'the client certificate forwarded by the proxy is malformed');
      }
    });

    it('a bound client without a forwarded certificate is invalid_client; an unbound one is unaffected', async () => {
      assert.equal((await tlsAuth('mtls', {})).json.error, 'invalid_client');
      const bound = await server.createClient('bound-basic', { tls: { sanDns: 'd1.thales.example' } });
      const res = await server.token(bound.clientId, bound.clientSecret);
      assert.equal(res.status, 401);
      assert.equal(res.json.error, 'invalid_client');
      assert.equal((await server.token(bound.clientId, bound.clientSecret, undefined, { 'x-ssl-client-cert': nginxHeader(d1) })).status, 200);
      const plain = await server.createClient('plain');
      assert.equal((await server.token(plain.clientId, plain.clientSecret)).status, 200);
    });
  });

  describe('Envoy: D1AUTHZ_CLIENT_CERT_HEADER=x-forwarded-client-cert, from a trusted peer', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ trustedProxies: '127.0.0.1/32, ::1', clientCertHeader: 'x-forwarded-client-cert' });
      await server.createClient('mtls', { tls: { authMethod: 'tls_client_auth', sanDns: 'd1.thales.example', boundTokens: true } });
      await server.createClient('pinned', { tls: { authMethod: 'tls_client_auth', sanDns: 'd1.thales.example', thumbprint: d1.thumbprint } });
      await server.createClient('by-dn', { tls: { authMethod: 'tls_client_auth', subjectDn: 'CN=d1-client,O=Thales DIS,C=FR' } });
    });
    after(() => server?.close());

    const tlsAuth = (clientId: string, headers: Record<string, string>) => server.post(`${GRANT}&client_id=${clientId}`, { ...FORM, ...headers });

    it('Cert=, or Hash= only; the last element is the one our proxy wrote', async () => {
      const cert = `By=spiffe://d1-authz;Hash=${sha256Hex(d1)};Cert="${encodeURIComponent(d1.cert)}";Subject="CN=d1-client,O=Thales DIS,C=FR";DNS=d1.thales.example`;
      const res = await tlsAuth('mtls', { 'x-forwarded-client-cert': cert });
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.deepEqual(jwtPayload(res.json.access_token).cnf, { 'x5t#S256': d1.thumbprint });

      const hashOnly = `By=spiffe://d1-authz;Hash=${sha256Hex(d1)};Subject="CN=d1-client,O=Thales DIS,C=FR";URI=spiffe://thales/d1;DNS=d1.thales.example`;
      assert.equal((await tlsAuth('pinned', { 'x-forwarded-client-cert': hashOnly })).status, 200);
      assert.equal((await tlsAuth('by-dn', { 'x-forwarded-client-cert': hashOnly })).status, 200);
      const otherHash = `Hash=${sha256Hex(other)};DNS=d1.thales.example`;
      assert.equal((await tlsAuth('pinned', { 'x-forwarded-client-cert': otherHash })).json.error, 'invalid_client');

      // A client-supplied element first, the proxy's own last (APPEND_FORWARD): only the last counts.
      const forged = `Hash=${sha256Hex(d1)};DNS=d1.thales.example,Hash=${sha256Hex(other)};DNS=other.thales.example`;
      assert.equal((await tlsAuth('pinned', { 'x-forwarded-client-cert': forged })).json.error, 'invalid_client');
    });

    it('the nginx header is not believed here; a malformed XFCC is invalid_request', async () => {
      assert.equal((await tlsAuth('mtls', { 'x-ssl-client-cert': nginxHeader(d1) })).json.error, 'invalid_client');
      for (const xfcc of ['Hash=xyz', 'Cert="unterminated', `Hash=${sha256Hex(other)};Cert="${encodeURIComponent(d1.cert)}"`, 'novalue']) {
        const res = await tlsAuth('mtls', { 'x-forwarded-client-cert': xfcc });
        assert.equal(res.status, 400, xfcc);
        assert.equal(res.json.error, 'invalid_request');
      }
    });
  });

  describe('from an untrusted peer (only 10.0.0.0/8 trusted)', () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ trustedProxies: '10.0.0.0/8' });
      await server.createClient('mtls', { tls: { authMethod: 'tls_client_auth', sanDns: 'd1.thales.example' } });
    });
    after(() => server?.close());

    it('ignores the header, logs the peer as suspicious (never the header content)', async () => {
      const pem = nginxHeader(d1);
      const res = await server.post(`${GRANT}&client_id=mtls`, { ...FORM, 'x-ssl-client-cert': pem });
      assert.equal(res.status, 401);
      assert.equal(res.json.error, 'invalid_client');
      const xfcc = await server.post(`${GRANT}&client_id=mtls`, { ...FORM, 'x-forwarded-client-cert': `Hash=${sha256Hex(d1)};DNS=d1.thales.example` });
      assert.equal(xfcc.json.error, 'invalid_client');
      // A bad header from an untrusted peer is not even parsed.
      assert.equal((await server.post(`${GRANT}&client_id=mtls`, { ...FORM, 'x-ssl-client-cert': '%%%' })).json.error, 'invalid_client');

      await sleep(50);
      const warnings = server.logs.map((l) => JSON.parse(l)).filter((l) => /untrusted peer/.test(l.msg));
      assert.ok(warnings.length >= 3, 'one warning per request');
      for (const w of warnings) {
        assert.equal(w.level, 40);
        assert.match(w.peer, /127\.0\.0\.1/);
      }
      assert.deepEqual([...new Set(warnings.map((w) => w.header))].sort(), ['x-forwarded-client-cert', 'x-ssl-client-cert']);
      const all = server.logs.join('\n');
      assert.ok(!all.includes(pem.slice(40, 80)) && !all.includes(d1.cert.split('\n')[1]!.slice(0, 40)), 'the header content is never logged');
      assert.ok(!all.includes(sha256Hex(d1)));
    });

    it('metadata still advertises tls_client_auth (a proxy is configured); a server with neither proxy nor client CA does not', async () => {
      const meta = await (await fetch(`${server.origin}/authz/d1/v1/.well-known/oauth-authorization-server`)).json();
      assert.equal(meta.tls_client_certificate_bound_access_tokens, true);
      const bare = await startTestServer();
      try {
        const m = await (await fetch(`${bare.origin}/authz/d1/v1/.well-known/oauth-authorization-server`)).json();
        assert.deepEqual(m.token_endpoint_auth_methods_supported, ['client_secret_basic']);
        assert.equal(m.tls_client_certificate_bound_access_tokens, undefined);
        // No certificate source at all: headers are not read, a bound client cannot authenticate.
        const c = await bare.createClient('bound', { tls: { sanDns: 'd1.thales.example' } });
        const res = await bare.token(c.clientId, c.clientSecret, undefined, { 'x-ssl-client-cert': nginxHeader(d1) });
        assert.equal(res.status, 401);
        assert.equal((await bare.post(`${GRANT}&client_id=bound`, { ...FORM, 'x-ssl-client-cert': nginxHeader(d1) })).json.error, 'invalid_client');
      } finally {
        await bare.close();
      }
    });
  });
});
