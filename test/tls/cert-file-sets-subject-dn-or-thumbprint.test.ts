/**
 * `client create|update --cert-file PATH` takes the subject DN (in RFC 4514 order) or the SHA-256
 * thumbprint from the client's PEM certificate, and the client then gets tokens over mutual TLS with
 * that certificate. A DN typed in openssl's display order (country first) never matched: it is refused,
 * with the RFC 4514 form in the message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { basic, createPki, FORM, httpsRequest, type Ca, type Issued, type Pki } from './pki.js';

describe('--cert-file and the subject DN order', () => {
  let pki: Pki;
  let ca: Ca;
  let d1: Issued;
  let server: TestServer;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, env);

  before(async () => {
    pki = createPki();
    ca = pki.ca('clients-ca');
    const serverCert = pki.server(ca);
    d1 = pki.issue(ca, 'd1', { subject: '/C=FR/O=Thales DIS/CN=d1-client' });
    server = await startTestServer({ tlsCert: serverCert.certPath, tlsKey: serverCert.keyPath, tlsClientCa: ca.certPath });
    env = cliEnv(server.database.url, server.masterKey);
  });
  after(async () => {
    await server?.close();
    pki?.cleanup();
  });

  const token = (id: string, headers: Record<string, string> = {}) =>
    httpsRequest(server.tokenUrl, { method: 'POST', headers: { ...FORM, ...headers }, body: `grant_type=client_credentials&client_id=${id}`, ca: ca.cert, client: d1 });

  it('a DN in openssl display order is refused with its RFC 4514 form; nothing is created', async () => {
    const r = await cli('client', 'create', 'd1-typed', '--auth-method', 'tls_client_auth', '--cert-subject-dn', 'C=FR, O=Thales DIS, CN=d1-client');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /openssl's display order/);
    assert.match(r.stderr, /"CN=d1-client,O=Thales DIS,C=FR"/);
    assert.equal((await cli('client', 'show', 'd1-typed')).code, 1, 'not created');
  });

  it('--cert-file takes the subject DN in RFC 4514 order, and the client gets a token with that certificate', async () => {
    const r = await cli('client', 'create', 'd1-dn', '--auth-method', 'tls_client_auth', '--cert-file', d1.certPath, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).tls_client_auth_subject_dn, 'CN=d1-client,O=Thales DIS,C=FR');
    const res = await token('d1-dn');
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });

  it('--cert-file --cert-use thumbprint pins the certificate; a secret client bound to it needs it', async () => {
    const r = await cli('client', 'create', 'd1-pin', '--cert-file', d1.certPath, '--cert-use', 'thumbprint', '--json');
    assert.equal(r.code, 0, r.stderr);
    const created = JSON.parse(r.stdout);
    assert.equal(created.tls_client_certificate_thumbprint, d1.thumbprint);
    assert.equal(created.tls_client_auth_subject_dn, null);
    const res = await httpsRequest(server.tokenUrl, {
      method: 'POST', headers: { ...FORM, authorization: basic('d1-pin', created.client_secret) }, body: 'grant_type=client_credentials', ca: ca.cert, client: d1,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });

  it('a file that is not a certificate, or a DN given twice, is bad usage (exit 2)', async () => {
    const notCert = await cli('client', 'create', 'bad', '--cert-file', d1.keyPath);
    assert.equal(notCert.code, 2);
    assert.match(notCert.stderr, /not a PEM certificate/);
    const twice = await cli('client', 'create', 'bad', '--cert-file', d1.certPath, '--cert-subject-dn', 'CN=x');
    assert.equal(twice.code, 2);
  });
});
