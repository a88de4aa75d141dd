/**
 * Certificate reload without a restart: a certificate swapped on disk is served to new handshakes
 * (checked by serial number) while a request in flight during the swap completes; a bad file keeps
 * the previous certificate and logs an error; SIGHUP reloads.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tlsServerOptions, watchTlsFiles } from '../../src/tls/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { basic, createPki, servedCertificate, type Ca, type Issued, type Pki } from './pki.js';
import { sleep } from '../helpers/wait.js';

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('TLS certificate reload', () => {
  let pki: Pki;
  let ca: Ca;
  let first: Issued;
  let second: Issued;
  let dir: string;
  const certPath = () => join(dir, 'tls.crt');
  const keyPath = () => join(dir, 'tls.key');
  const install = (c: Issued) => {
    copyFileSync(c.keyPath, keyPath());
    copyFileSync(c.certPath, certPath());
  };

  before(() => {
    pki = createPki();
    ca = pki.ca('reload-ca');
    first = pki.server(ca, 'first');
    second = pki.server(ca, 'second');
    dir = mkdtempSync(join(tmpdir(), 'd1authz-tls-'));
  });
  after(() => {
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('serve with D1AUTHZ_TLS_CERT/KEY', () => {
    let server: TestServer;
    let port: number;
    const serial = async () => (await servedCertificate(port, ca.cert)).serialNumber;

    before(async () => {
      install(first);
      server = await startTestServer({ tlsCert: certPath(), tlsKey: keyPath() });
      port = Number(new URL(server.origin).port);
    });
    after(() => server?.close());

    it('serves a certificate swapped on disk to new connections, while a request in flight during the swap completes', async () => {
      assert.equal(await serial(), first.x509.serialNumber);
      const c = await server.createClient('inflight');

      // A token request whose body is half sent when the files change.
      const body = 'grant_type=client_credentials';
      let connectionCert = '';
      let inflight: import('node:http').ClientRequest | undefined;
      const answer = new Promise<{ status: number; json: any }>((resolve, reject) => {
        const req = request(
          server.tokenUrl,
          {
            method: 'POST',
            ca: ca.cert,
            agent: false,
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), authorization: basic(c.clientId, c.clientSecret) },
          },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        req.on('socket', (s) => s.on('secureConnect', () => (connectionCert = (s as import('node:tls').TLSSocket).getPeerX509Certificate()?.serialNumber ?? '')));
        req.write(body.slice(0, 10));
        inflight = req;
      });
      await until('the in-flight connection', async () => connectionCert !== '');
      assert.equal(connectionCert, first.x509.serialNumber);

      install(second);
      await until('the new certificate', async () => (await serial()) === second.x509.serialNumber);

      inflight!.end(body.slice(10));
      const res = await answer;
      assert.equal(res.status, 200, 'the request in flight during the swap completes');
      assert.ok(res.json.access_token);
      assert.ok(server.logs.some((l) => /TLS certificate reloaded/.test(l) && l.includes(second.x509.serialNumber)));
    });

    it('a bad new file keeps the old certificate and logs an error', async () => {
      assert.equal(await serial(), second.x509.serialNumber);
      const errorsBefore = server.logs.filter((l) => /TLS reload failed/.test(l)).length;

      writeFileSync(certPath(), 'not a certificate\n');
      await until('the error log', async () => server.logs.filter((l) => /TLS reload failed/.test(l)).length > errorsBefore);
      assert.equal(await serial(), second.x509.serialNumber, 'still the previous certificate');

      // A key that does not match the certificate: refused too.
      copyFileSync(first.certPath, certPath());
      copyFileSync(second.keyPath, keyPath());
      await until('the mismatch error', async () => server.logs.some((l) => /TLS reload failed/.test(l) && /does not match/.test(l)));
      assert.equal(await serial(), second.x509.serialNumber);
      const line = JSON.parse(server.logs.filter((l) => /TLS reload failed/.test(l)).at(-1)!);
      assert.equal(line.level, 50);

      // Fixed: the matching key arrives, the new certificate is served.
      copyFileSync(first.keyPath, keyPath());
      await until('the fixed certificate', async () => (await serial()) === first.x509.serialNumber);
      const token = await server.createClient('after-reload');
      const res = await new Promise<number>((resolve, reject) => {
        const req = request(server.tokenUrl, { method: 'POST', ca: ca.cert, agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(token.clientId, token.clientSecret) } }, (r) => {
          r.resume();
          r.on('end', () => resolve(r.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end('grant_type=client_credentials');
      });
      assert.equal(res, 200);
    });
  });

  it('reloads on SIGHUP (watchTlsFiles, as the gateway uses it)', async () => {
    const sighupDir = mkdtempSync(join(tmpdir(), 'd1authz-tls-'));
    const cfg = { tlsCert: join(sighupDir, 'c.pem'), tlsKey: join(sighupDir, 'k.pem'), tlsClientCa: undefined };
    copyFileSync(first.certPath, cfg.tlsCert);
    copyFileSync(first.keyPath, cfg.tlsKey);
    const logs: string[] = [];
    const logger = { info: (_o: object, m: string) => logs.push(m), warn: (_o: object, m: string) => logs.push(m), error: (_o: object, m: string) => logs.push(m) };
    const https = createServer(tlsServerOptions(cfg), (_req, res) => res.end('ok'));
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    const watcher = watchTlsFiles(https, cfg, logger, { watchFiles: false });
    try {
      const port = (https.address() as AddressInfo).port;
      copyFileSync(second.certPath, cfg.tlsCert);
      copyFileSync(second.keyPath, cfg.tlsKey);
      await sleep(300);
      assert.equal((await servedCertificate(port, ca.cert)).serialNumber, first.x509.serialNumber, 'no file watching here: only SIGHUP reloads');
      process.emit('SIGHUP', 'SIGHUP');
      assert.equal((await servedCertificate(port, ca.cert)).serialNumber, second.x509.serialNumber);
      assert.deepEqual(logs, ['TLS certificate reloaded']);
      process.emit('SIGHUP', 'SIGHUP');
      assert.deepEqual(logs, ['TLS certificate reloaded', 'TLS files unchanged']);
    } finally {
      watcher.close();
      https.close();
      rmSync(sighupDir, { recursive: true, force: true });
    }
  });
});
