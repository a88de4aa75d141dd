/**
 * An attacker guessing a real client's secret must not lock that client out. Guesses come from
 * 127.0.0.2, which here is also D1's egress address (the worst case: shared NAT). A request whose
 * credentials are in the verified-credential cache is never refused, nor one that presents the
 * certificate its client is bound to (forwarded by a trusted proxy, which also names the source
 * address in X-Forwarded-For); the lock holds only the attacked (client id, address).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPki, type Issued, type Pki } from '../tls/pki.js';
import { tokenFrom } from '../helpers/from-address.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SHARED = '127.0.0.2';
const guess = (server: TestServer, from: string, i: number, headers: Record<string, string> = {}) =>
  tokenFrom(from, server.tokenUrl, 'd1', `guess-${i}-${'x'.repeat(32)}`, headers);

describe('a real client while its id is attacked from its own address', () => {
  let server: TestServer;
  let d1: { clientId: string; clientSecret: string };
  before(async () => {
    server = await startTestServer({ scryptCost: 14, lockoutThreshold: 3, lockoutWindow: 120, lockoutMax: 600 });
    d1 = await server.createClient('d1');
  });
  after(() => server?.close());

  it('keeps getting tokens with its cached secret while the guesses are refused with 429', async () => {
    assert.equal((await tokenFrom(SHARED, server.tokenUrl, 'd1', d1.clientSecret)).status, 200, 'verified once: now cached');
    for (let i = 0; i < 3; i++) assert.equal((await guess(server, SHARED, i)).status, 401);
    for (let i = 3; i < 8; i++) {
      assert.equal((await guess(server, SHARED, i)).status, 429, 'the guesses are locked out');
      const real = await tokenFrom(SHARED, server.tokenUrl, 'd1', d1.clientSecret);
      assert.equal(real.status, 200, `the real client is not: ${JSON.stringify(real.json)}`);
    }
    // And from its own other address, whatever happens at 127.0.0.2.
    assert.equal((await tokenFrom('127.0.0.3', server.tokenUrl, 'd1', d1.clientSecret)).status, 200);
  });
});

describe('a client bound to a certificate, behind a trusted proxy, while its id is attacked', () => {
  let pki: Pki;
  let cert: Issued;
  let server: TestServer;
  let bound: { clientId: string; clientSecret: string };
  const PROXY = '127.0.0.1';
  before(async () => {
    pki = createPki();
    const ca = pki.ca('proxy-ca');
    cert = pki.issue(ca, 'd1', { subject: '/C=FR/O=Thales DIS/CN=d1-client', dns: ['d1.thales.example'] });
    // No verified-credential cache at all: only the certificate can keep the client in.
    server = await startTestServer({ scryptCost: 14, trustedProxies: `${PROXY}/32`, credentialCacheTtl: 0, lockoutThreshold: 3, lockoutWindow: 120, lockoutMax: 600 });
    bound = await server.createClient('d1', { tls: { thumbprint: cert.thumbprint } });
  });
  after(async () => {
    await server?.close();
    pki?.cleanup();
  });

  const viaProxy = (clientAddress: string, withCert: boolean) => ({
    'x-forwarded-for': `203.0.113.9, ${clientAddress}`,
    ...(withCert ? { 'x-ssl-client-cert': encodeURIComponent(cert.cert) } : {}),
  });

  it('keeps getting tokens when it presents its certificate; the same request without it is refused', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await guess(server, PROXY, i, viaProxy(SHARED, false))).status, 401);
    assert.equal((await guess(server, PROXY, 3, viaProxy(SHARED, false))).status, 429, 'the guesses from 127.0.0.2 (through the proxy) are locked out');
    for (let i = 0; i < 3; i++) {
      const real = await tokenFrom(PROXY, server.tokenUrl, 'd1', bound.clientSecret, viaProxy(SHARED, true));
      assert.equal(real.status, 200, `bound client with its certificate: ${JSON.stringify(real.json)}`);
    }
    // Without the certificate the right secret proves nothing this server has not seen many times wrong.
    assert.equal((await tokenFrom(PROXY, server.tokenUrl, 'd1', bound.clientSecret, viaProxy(SHARED, false))).status, 429);
    // The lock is 127.0.0.2's, named by the proxy: the proxy's other clients are not touched.
    assert.equal((await guess(server, PROXY, 4, viaProxy('127.0.0.3', false))).status, 401);
  });

  it('believes X-Forwarded-For only from the trusted proxy', async () => {
    // From 127.0.0.3 directly, claiming to be 127.0.0.2: the header is ignored, 127.0.0.3 is not locked.
    const res = await guess(server, '127.0.0.3', 5, { 'x-forwarded-for': SHARED });
    assert.equal(res.status, 401);
  });
});
