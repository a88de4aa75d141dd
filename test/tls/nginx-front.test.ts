/**
 * examples/nginx-mtls.conf as it ships, run by the real nginx (Debian's package) on loopback ports
 * with a temp prefix and test certificates, in front of d1-authz with D1AUTHZ_TRUSTED_PROXIES: D1
 * gets a certificate-bound token through it over mutual TLS, a caller without a certificate never
 * reaches d1-authz, and a client-forged certificate header is replaced by nginx.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { basic, createPki, FORM, httpsRequest, jwtPayload, type Ca, type Issued, type Pki } from './pki.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((bin) => spawnSync(bin, ['-v']).status === 0);
const EXAMPLE = readFileSync(new URL('../../examples/nginx-mtls.conf', import.meta.url), 'utf8');

/** The example with this test's paths and ports; every placeholder must be there, so the example cannot drift. */
function render(example: string, values: Record<string, string>): string {
  let text = example;
  for (const [from, to] of Object.entries(values)) {
    assert.ok(text.includes(from), `examples/nginx-mtls.conf has ${from}`);
    text = text.split(from).join(to);
  }
  return text;
}

describe('examples/nginx-mtls.conf in front of d1-authz (real nginx)', () => {
  let pki: Pki;
  let ca: Ca;
  let d1: Issued;
  let other: Issued;
  let server: TestServer;
  let nginx: ChildProcess;
  let nginxLog = '';
  let origin: string;

  before(async () => {
    assert.ok(NGINX, 'nginx is installed (apt-get install nginx)');
    pki = createPki();
    chmodSync(pki.dir, 0o755);
    ca = pki.ca('d1-client-ca');
    const serverCert = pki.server(ca, 'nginx-server');
    d1 = pki.issue(ca, 'd1', { subject: '/C=FR/O=Thales DIS/CN=d1-client' });
    other = pki.issue(ca, 'other', { subject: '/C=FR/O=Thales DIS/CN=someone-else' });
    server = await startTestServer({ trustedProxies: '127.0.0.1/32' });
    await server.createClient('d1-mtls', {
      scopes: ['consumer'],
      tls: { authMethod: 'tls_client_auth', subjectDn: 'CN=d1-client,O=Thales DIS,C=FR', boundTokens: true },
    });

    const port = await freePort();
    origin = `https://127.0.0.1:${port}`;
    const prefix = join(pki.dir, 'nginx');
    mkdirSync(prefix);
    writeFileSync(
      join(prefix, 'd1-authz.conf'),
      render(EXAMPLE, {
        'listen 443 ssl;': `listen 127.0.0.1:${port} ssl;`,
        '/etc/nginx/tls/server.crt': serverCert.certPath,
        '/etc/nginx/tls/server.key': serverCert.keyPath,
        '/etc/nginx/tls/d1-client-ca.crt': ca.certPath,
        'http://127.0.0.1:8080': server.origin,
      }),
    );
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, t)};`).join('\n');
    writeFileSync(
      join(prefix, 'nginx.conf'),
      `daemon off;\nmaster_process on;\nworker_processes 1;\npid ${join(prefix, 'nginx.pid')};\nerror_log stderr warn;\n` +
        `events { worker_connections 64; }\nhttp {\n  access_log off;\n${temp}\n  include ${join(prefix, 'd1-authz.conf')};\n}\n`,
    );
    nginx = spawn(NGINX, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stdout!.on('data', (d) => (nginxLog += d));
    nginx.stderr!.on('data', (d) => (nginxLog += d));
    await waitFor('nginx to answer', async () => {
      if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${nginxLog}`);
      try {
        return (await httpsRequest(`${origin}/authz/d1/v1/.well-known/jwks.json`, { ca: ca.cert, client: d1 })).status === 200;
      } catch {
        return false;
      }
    }, 20_000, 100);
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGQUIT');
      await exited;
    }
    await server?.close();
    pki?.cleanup();
  });

  const token = (client: Issued | undefined, headers: Record<string, string> = {}) =>
    httpsRequest(`${origin}/authz/d1/v1/oauth2/token`, { method: 'POST', headers: { ...FORM, ...headers }, body: 'grant_type=client_credentials&client_id=d1-mtls', ca: ca.cert, client });

  it('D1 gets a token bound to its certificate through nginx (tls_client_auth by subject DN)', async () => {
    const res = await token(d1);
    assert.equal(res.status, 200, JSON.stringify(res.json) + nginxLog);
    assert.equal(res.json.expires_in, '900');
    assert.equal(jwtPayload(res.json.access_token).cnf['x5t#S256'], d1.thumbprint);
  });

  it('a caller without a client certificate is stopped by nginx', async () => {
    const res = await token(undefined);
    assert.equal(res.status, 400);
    assert.match(JSON.stringify(res.json), /No required SSL certificate was sent/);
  });

  it("a certificate header forged by the client is replaced by nginx with the client's own certificate", async () => {
    const forged = encodeURIComponent(d1.cert);
    const res = await token(other, { 'x-ssl-client-cert': forged });
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'invalid_client');
    const secretClient = await server.createClient('plain', {});
    const plain = await httpsRequest(`${origin}/authz/d1/v1/oauth2/token`, {
      method: 'POST', headers: { ...FORM, authorization: basic('plain', secretClient.clientSecret) }, body: 'grant_type=client_credentials', ca: ca.cert, client: other,
    });
    assert.equal(plain.status, 200, 'an unbound client with a secret works through the same front');
  });
});
