/**
 * Every TLS listener (serve, and the gateway) speaks Mozilla's "intermediate" profile: TLS 1.3, and
 * TLS 1.2 with ECDHE key exchange and AEAD ciphers only. Checked with `openssl s_client -cipher`
 * against a running server with an ECDSA and with an RSA certificate: CBC/SHA-1 suites and
 * static-RSA suites (no forward secrecy) fail the handshake, ECDHE-GCM succeeds.
 * D1AUTHZ_TLS_CIPHERS replaces the list; a list OpenSSL cannot use stops start-up (exit 2).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createGateway, type Gateway } from '../../src/gateway/gateway.js';
import { compileRoutes, type GatewayConfig } from '../../src/gateway/config.js';
import { gatewayTransport } from '../../src/gateway/transport.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { cliEnv } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createPki, type Pki } from './pki.js';

interface Handshake {
  readonly ok: boolean;
  readonly cipher: string | undefined;
}

/** One handshake with only `cipher` offered (TLS 1.2), or TLS 1.3; @SECLEVEL=0 so the client itself offers what we test. */
function handshake(port: number, cipher: string): Promise<Handshake> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost'];
  args.push(...(cipher === 'tls1_3' ? ['-tls1_3'] : ['-tls1_2', '-cipher', `${cipher}:@SECLEVEL=0`]));
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 60_000 }, (err, stdout) => {
      const negotiated = /Cipher is (\S+)/.exec(stdout)?.[1];
      resolve({ ok: !err && negotiated !== undefined && negotiated !== '(NONE)', cipher: negotiated });
    });
    child.stdin?.end('Q\n');
  });
}

function rsaCertificate(dir: string): { certPath: string; keyPath: string } {
  const certPath = join(dir, 'rsa.crt');
  const keyPath = join(dir, 'rsa.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { certPath, keyPath };
}

const portOf = (origin: string) => Number(new URL(origin).port);

describe('TLS cipher profile: Mozilla intermediate', () => {
  let pki: Pki;
  before(() => (pki = createPki()));
  after(() => pki?.cleanup());

  describe('ECDSA certificate', () => {
    let server: TestServer;
    before(async () => {
      const cert = pki.server(pki.ca('ca'));
      server = await startTestServer({ tlsCert: cert.certPath, tlsKey: cert.keyPath });
    });
    after(async () => server?.close());

    it('refuses CBC/SHA-1 suites, accepts ECDHE-ECDSA with GCM or ChaCha20, and TLS 1.3', async () => {
      const port = portOf(server.origin);
      for (const weak of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384']) {
        assert.equal((await handshake(port, weak)).ok, false, weak);
      }
      for (const strong of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
        assert.deepEqual(await handshake(port, strong), { ok: true, cipher: strong });
      }
      assert.equal((await handshake(port, 'tls1_3')).ok, true);
    });
  });

  describe('RSA certificate', () => {
    let server: TestServer;
    before(async () => {
      const rsa = rsaCertificate(pki.dir);
      server = await startTestServer({ tlsCert: rsa.certPath, tlsKey: rsa.keyPath });
    });
    after(async () => server?.close());

    it('refuses suites without forward secrecy and CBC suites, accepts ECDHE-RSA-GCM', async () => {
      const port = portOf(server.origin);
      for (const weak of ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA256', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384', 'DHE-RSA-AES128-GCM-SHA256']) {
        assert.equal((await handshake(port, weak)).ok, false, weak);
      }
      assert.deepEqual(await handshake(port, 'ECDHE-RSA-AES128-GCM-SHA256'), { ok: true, cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
      assert.deepEqual(await handshake(port, 'ECDHE-RSA-AES256-GCM-SHA384'), { ok: true, cipher: 'ECDHE-RSA-AES256-GCM-SHA384' });
    });
  });

  describe('D1AUTHZ_TLS_CIPHERS', () => {
    let db: TestDatabase;
    before(async () => (db = await createTestDatabase()));
    after(async () => db?.drop());

    it('replaces the list on the running server', async () => {
      const cert = pki.server(pki.ca('ca2'));
      const server = await startTestServer({ tlsCert: cert.certPath, tlsKey: cert.keyPath, tlsCiphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
      try {
        const port = portOf(server.origin);
        assert.equal((await handshake(port, 'ECDHE-ECDSA-AES128-GCM-SHA256')).ok, false);
        assert.equal((await handshake(port, 'ECDHE-ECDSA-AES256-GCM-SHA384')).ok, true);
      } finally {
        await server.close();
      }
    });

    it('a list OpenSSL cannot use stops `serve` with exit 2 naming the setting', async () => {
      const cert = pki.server(pki.ca('ca3'));
      const r = await cliExit(['serve'], cliEnv(db.url, randomBytes(32).toString('base64'), {
        D1AUTHZ_PORT: '0', D1AUTHZ_TLS_CERT: cert.certPath, D1AUTHZ_TLS_KEY: cert.keyPath, D1AUTHZ_TLS_CIPHERS: 'NOT-A-CIPHER',
      }));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /D1AUTHZ_TLS_CIPHERS \(tlsCiphers\): OpenSSL refuses this cipher list/);
    });
  });

  describe('the gateway', () => {
    let gateway: Gateway;
    let port: number;
    before(async () => {
      const cert = pki.server(pki.ca('gw-ca'));
      const config: GatewayConfig = {
        upstream: 'http://127.0.0.1:9', issuer: 'https://127.0.0.1/x', audience: 'a', jwksUri: 'http://127.0.0.1:9/jwks', upstreamTimeoutMs: 1000,
        unlisted: 'deny', routes: compileRoutes([]), host: '127.0.0.1', port: 0,
      };
      const transport = gatewayTransport({ tlsCert: cert.certPath, tlsKey: cert.keyPath, tlsClientCa: undefined, allowInsecureHttp: false, trustedProxies: [], clientCertHeader: 'x-ssl-client-cert' }, '127.0.0.1');
      gateway = createGateway(config, pino({ level: 'silent' }), transport);
      port = portOf(await gateway.listen());
    });
    after(async () => gateway?.close());

    it('has the same policy: CBC/SHA-1 refused, ECDHE-GCM accepted', async () => {
      assert.equal((await handshake(port, 'ECDHE-ECDSA-AES128-SHA')).ok, false);
      assert.equal((await handshake(port, 'ECDHE-ECDSA-AES128-GCM-SHA256')).ok, true);
    });
  });
});
