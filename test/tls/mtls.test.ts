/**
 * Native mutual TLS (D1AUTHZ_TLS_CERT/KEY/CLIENT_CA) through real TLS connections: the handshake,
 * RFC 8705 client binding (client_secret_basic + certificate, tls_client_auth), certificate-bound
 * tokens checked by the guard over the same and another certificate.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type SecureVersion } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createGuard, GuardError, peerCertificateThumbprint } from '@d1-authz/guard';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { basic, createPki, FORM, httpsRequest, jwtPayload, type Ca, type Issued, type Pki } from './pki.js';

const GRANT = 'grant_type=client_credentials';

describe('native mTLS', () => {
  let pki: Pki;
  let ca: Ca;
  let otherCa: Ca;
  let server: TestServer;
  let d1: Issued;
  let d1Other: Issued;
  let foreign: Issued;
  let tokenUrl: string;

  before(async () => {
    pki = createPki();
    ca = pki.ca('clients-ca');
    otherCa = pki.ca('other-ca');
    const serverCert = pki.server(ca);
    d1 = pki.issue(ca, 'd1', { subject: '/C=FR/O=Thales DIS/CN=d1-client', dns: ['d1.thales.example'], uris: ['spiffe://thales/d1'], emails: ['ops@thales.example'] });
    d1Other = pki.issue(ca, 'd1-other', { subject: '/C=FR/O=Thales DIS/CN=someone-else', dns: ['other.thales.example'] });
    foreign = pki.issue(otherCa, 'foreign', { subject: '/C=FR/O=Thales DIS/CN=d1-client', dns: ['d1.thales.example'] });
    server = await startTestServer({ tlsCert: serverCert.certPath, tlsKey: serverCert.keyPath, tlsClientCa: ca.certPath });
    tokenUrl = server.tokenUrl;
  });
  after(async () => {
    await server?.close();
    pki?.cleanup();
  });

  const token = (client: Issued | undefined, headers: Record<string, string>, body = GRANT) =>
    httpsRequest(tokenUrl, { method: 'POST', headers: { ...FORM, ...headers }, body, ca: ca.cert, client });

  const assertInvalidClient = (res: { status: number; json: any; headers: Record<string, unknown> }) => {
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'invalid_client');
    assert.match(String(res.headers['www-authenticate']), /^Basic realm=/);
  };

  it('serves https, with an https issuer by default', async () => {
    assert.match(server.origin, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.issuer, `${server.origin}/authz/d1/v1`);
    const meta = await httpsRequest(`${server.origin}/authz/d1/v1/.well-known/oauth-authorization-server`, { ca: ca.cert, client: d1 });
    assert.equal(meta.status, 200);
    assert.equal(meta.json.issuer, server.issuer);
    assert.deepEqual(meta.json.token_endpoint_auth_methods_supported, ['client_secret_basic', 'tls_client_auth']);
    assert.equal(meta.json.tls_client_certificate_bound_access_tokens, true);
  });

  it('ends the handshake without a client certificate, or with one from another CA', async () => {
    await assert.rejects(token(undefined, {}), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code ?? err.message), /ECONNRESET|ERR_SSL|certificate required|socket hang up|EPIPE/i);
      return true;
    });
    await assert.rejects(token(foreign, {}), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code ?? err.message), /ECONNRESET|ERR_SSL|unknown ca|socket hang up|EPIPE/i);
      return true;
    });
  });

  it('speaks TLS 1.2 and up, not TLS 1.1', async () => {
    const port = Number(new URL(server.origin).port);
    const handshake = (minVersion: SecureVersion, maxVersion: SecureVersion) =>
      new Promise<string | null>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port, ca: ca.cert, cert: d1.cert, key: d1.key, servername: 'localhost', minVersion, maxVersion, ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
          resolve(s.getProtocol());
          s.end();
        });
        s.on('error', reject);
      });
    assert.equal(await handshake('TLSv1.2', 'TLSv1.2'), 'TLSv1.2');
    assert.equal(await handshake('TLSv1.3', 'TLSv1.3'), 'TLSv1.3');
    await assert.rejects(handshake('TLSv1', 'TLSv1.1'));
  });

  it('an unbound client_secret_basic client keeps working with its secret over mTLS', async () => {
    const c = await server.createClient('plain-client');
    const res = await token(d1Other, { authorization: basic(c.clientId, c.clientSecret) });
    assert.equal(res.status, 200);
    assert.equal(jwtPayload(res.json.access_token).cnf, undefined);
  });

  it('client_secret_basic bound to a certificate: the right certificate and secret pass; the wrong certificate fails even with the right secret', async () => {
    const bySan = await server.createClient('bound-san', { tls: { sanDns: 'd1.thales.example' } });
    assert.equal((await token(d1, { authorization: basic(bySan.clientId, bySan.clientSecret) })).status, 200);
    assertInvalidClient(await token(d1Other, { authorization: basic(bySan.clientId, bySan.clientSecret) }));

    const byDn = await server.createClient('bound-dn', { tls: { subjectDn: 'cn=D1-Client, o=Thales  DIS, c=FR' } });
    assert.equal((await token(d1, { authorization: basic(byDn.clientId, byDn.clientSecret) })).status, 200, 'RFC 4514 DN, case and spacing aside');
    assertInvalidClient(await token(d1Other, { authorization: basic(byDn.clientId, byDn.clientSecret) }));

    const pinned = await server.createClient('bound-pin', { tls: { thumbprint: d1.x509.fingerprint256 } });
    assert.equal((await token(d1, { authorization: basic(pinned.clientId, pinned.clientSecret) })).status, 200, 'hex fingerprint accepted as a pin');
    assertInvalidClient(await token(d1Other, { authorization: basic(pinned.clientId, pinned.clientSecret) }));

    const byUri = await server.createClient('bound-uri', { tls: { sanUri: 'spiffe://thales/d1' } });
    assert.equal((await token(d1, { authorization: basic(byUri.clientId, byUri.clientSecret) })).status, 200);
    const byEmail = await server.createClient('bound-email', { tls: { sanEmail: 'ops@THALES.example' } });
    assert.equal((await token(d1, { authorization: basic(byEmail.clientId, byEmail.clientSecret) })).status, 200);
    assertInvalidClient(await token(d1Other, { authorization: basic(byEmail.clientId, byEmail.clientSecret) }));

    // The wrong secret with the right certificate is still wrong.
    assertInvalidClient(await token(d1, { authorization: basic(bySan.clientId, 'not-the-secret') }));
  });

  it('tls_client_auth: client_id in the body, no secret (RFC 8705 §2.1)', async () => {
    const c = await server.createClient('mtls-only', { scopes: ['consumer'], tls: { authMethod: 'tls_client_auth', subjectDn: 'CN=d1-client,O=Thales DIS,C=FR' } });
    const ok = await token(d1, {}, `${GRANT}&client_id=mtls-only&scope=consumer`);
    assert.equal(ok.status, 200);
    assert.equal(jwtPayload(ok.json.access_token).client_id, 'mtls-only');
    assert.equal(ok.json.scope, 'consumer');

    assertInvalidClient(await token(d1Other, {}, `${GRANT}&client_id=mtls-only`));
    // Its (unused) secret is refused: the registered method is the only one.
    assertInvalidClient(await token(d1, { authorization: basic(c.clientId, c.clientSecret) }));
    // Without client_id there is no client to authenticate.
    assertInvalidClient(await token(d1, {}));
    assertInvalidClient(await token(d1, {}, `${GRANT}&client_id=nobody`));
    // A client_secret_basic client cannot skip its secret by presenting a certificate.
    await server.createClient('secret-client');
    assertInvalidClient(await token(d1, {}, `${GRANT}&client_id=secret-client`));
    // A disabled one is refused.
    await server.app.clients.setEnabled('mtls-only', false);
    server.app.directory.invalidate('mtls-only');
    assertInvalidClient(await token(d1, {}, `${GRANT}&client_id=mtls-only`));
  });

  describe('certificate-bound tokens through the guard', () => {
    let jwksMirror: Server;
    let resource: Server;
    let resourceUrl: string;

    before(async () => {
      // The guard fetches the JWKS with fetch(), which does not trust the test CA: serve the same keys over loopback HTTP.
      jwksMirror = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(server.app.keyRing.jwks()));
      await new Promise<void>((r) => jwksMirror.listen(0, '127.0.0.1', r));
      const guard = createGuard({ issuer: server.issuer, audience: 'd1-issuer-api', jwksUri: `http://127.0.0.1:${(jwksMirror.address() as AddressInfo).port}/jwks` });
      const serverCert = pki.server(ca, 'resource-server');
      resource = createHttpsServer({ cert: serverCert.cert, key: serverCert.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
        guard.verify(req.headers.authorization, { peerCertificateThumbprint: peerCertificateThumbprint(req) }).then(
          (auth) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ clientId: auth.clientId })),
          (err: unknown) => {
            const e = err as GuardError;
            res.writeHead(e.status ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: e.code, error_description: e.description }));
          },
        );
      });
      await new Promise<void>((r) => resource.listen(0, '127.0.0.1', r));
      resourceUrl = `https://127.0.0.1:${(resource.address() as AddressInfo).port}/api`;
    });
    after(async () => {
      resource?.closeAllConnections();
      await new Promise((r) => resource?.close(r));
      await new Promise((r) => jwksMirror?.close(r));
    });

    it('a bound token carries cnf.x5t#S256 of the certificate used; the guard accepts it over that certificate and refuses it over another', async () => {
      await server.createClient('bound-tokens', { tls: { authMethod: 'tls_client_auth', sanDns: 'd1.thales.example', boundTokens: true } });
      const res = await token(d1, {}, `${GRANT}&client_id=bound-tokens`);
      assert.equal(res.status, 200);
      const at = res.json.access_token as string;
      assert.deepEqual(jwtPayload(at).cnf, { 'x5t#S256': d1.thumbprint });

      const same = await httpsRequest(resourceUrl, { ca: ca.cert, client: d1, headers: { authorization: `Bearer ${at}` } });
      assert.equal(same.status, 200);
      assert.equal(same.json.clientId, 'bound-tokens');
      const other = await httpsRequest(resourceUrl, { ca: ca.cert, client: d1Other, headers: { authorization: `Bearer ${at}` } });
      assert.equal(other.status, 401);
      assert.equal(other.json.error, 'invalid_token');
      assert.match(other.json.error_description, /certificate/);
    });

    it('a client_secret_basic client can have bound tokens too', async () => {
      const c = await server.createClient('basic-bound-tokens', { tls: { boundTokens: true } });
      const res = await token(d1Other, { authorization: basic(c.clientId, c.clientSecret) });
      assert.equal(res.status, 200);
      assert.deepEqual(jwtPayload(res.json.access_token).cnf, { 'x5t#S256': d1Other.thumbprint });
      const refused = await httpsRequest(resourceUrl, { ca: ca.cert, client: d1, headers: { authorization: `Bearer ${res.json.access_token}` } });
      assert.equal(refused.status, 401);
    });
  });
});
