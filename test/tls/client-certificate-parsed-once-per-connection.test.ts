/**
 * The client certificate of a TLS connection is read and described (thumbprint, subject DN, SANs)
 * once per connection, not per request: a keep-alive connection from D1 carries many token
 * requests, and each would otherwise build a new X509Certificate and hash its DER again.
 */
import assert from 'node:assert/strict';
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TLSSocket } from 'node:tls';
import { ClientCertificateSource } from '../../src/tls/client-certificate.js';
import { createPki, type Ca, type Issued, type Pki } from './pki.js';

describe('client certificate parsed once per connection', () => {
  let pki: Pki;
  let ca: Ca;
  let server: Issued;
  let client: Issued;
  before(() => {
    pki = createPki();
    ca = pki.ca('parse-ca');
    server = pki.server(ca, 'parse-server');
    client = pki.issue(ca, 'parse-client', { subject: '/C=FR/O=Thales/CN=d1', dns: ['d1.thales.example'] });
  });
  after(() => pki?.cleanup());

  it('reads the peer certificate once for 5 requests on one connection, and again for a second connection', async () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, called with its own `this`
    const original = TLSSocket.prototype.getPeerX509Certificate;
    let parses = 0;
    TLSSocket.prototype.getPeerX509Certificate = function (this: TLSSocket) {
      parses++;
      return original.call(this);
    };
    const source = new ClientCertificateSource({ trustedProxies: [] });
    const log = { warn: () => {} };
    const https = createServer({ key: server.key, cert: server.cert, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const cert = source.fromRequest(req, log);
      res.end(JSON.stringify(cert ?? null));
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    const port = (https.address() as AddressInfo).port;
    const get = (agent: Agent) =>
      new Promise<any>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', servername: 'localhost', agent }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(JSON.parse(body)));
        });
        req.on('error', reject);
        req.end();
      });
    const agentFor = () => new Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, cert: client.cert, key: client.key });
    try {
      const one = agentFor();
      const seen = [];
      for (let i = 0; i < 5; i++) seen.push(await get(one));
      for (const c of seen) {
        assert.equal(c.thumbprint, client.thumbprint);
        assert.equal(c.subjectDn, 'CN=d1,O=Thales,C=FR');
        assert.deepEqual(c.sanDns, ['d1.thales.example']);
      }
      assert.equal(parses, 1, 'one parse for five requests on one connection');
      one.destroy();
      const two = agentFor();
      assert.equal((await get(two)).thumbprint, client.thumbprint);
      assert.equal((await get(two)).thumbprint, client.thumbprint);
      assert.equal(parses, 2, 'a second connection is parsed once more');
      two.destroy();
    } finally {
      TLSSocket.prototype.getPeerX509Certificate = original;
      https.closeAllConnections();
      await new Promise((r) => https.close(r));
    }
  });
});
