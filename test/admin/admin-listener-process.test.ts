/**
 * The admin listener of the real `d1-authz serve`: admin tokens made with the CLI, refused off loopback
 * without TLS, served over TLS (with the server certificate, no client certificate) while the public
 * listener demands D1's, and the log level switched by SIGUSR2.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, runCli, spawnServe } from '../helpers/process.js';
import { createPki, httpsRequest, type Pki } from '../tls/pki.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

describe('admin listener of serve', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let pki: Pki;
  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_SCRYPT_COST: '14' });
    assert.equal((await runCli(['migrate'], env)).code, 0);
    pki = createPki();
  });
  after(async () => {
    pki.cleanup();
    await db.drop();
  });

  it('admin-token create prints the token once as {"name","role","token"}; list never shows it; revoke ends it', async () => {
    const created = await runCli(['admin-token', 'create', 'alice', '--role', 'admin', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const body = JSON.parse(created.stdout);
    assert.deepEqual(Object.keys(body).sort(), ['name', 'role', 'token']);
    assert.equal(body.role, 'admin');
    assert.match(body.token, /^d1at_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const viewer = JSON.parse((await runCli(['admin-token', 'create', 'bob', '--json'], env)).stdout);
    assert.equal(viewer.role, 'viewer', 'least privilege by default');
    assert.equal((await runCli(['admin-token', 'create', 'alice'], env)).code, 1, 'a name is never reused');
    assert.equal((await runCli(['admin-token', 'create', 'carol', '--role', 'root'], env)).code !== 0, true);

    const adminPort = await freePort();
    const serve = await spawnServe({ ...env, D1AUTHZ_ADMIN_PORT: String(adminPort) }, await freePort());
    try {
      const adminOrigin = `http://127.0.0.1:${adminPort}`;
      const whoami = (token: string) => fetch(`${adminOrigin}/admin/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      assert.deepEqual(await (await whoami(body.token)).json(), { name: 'alice', role: 'admin' });
      const listed = await runCli(['admin-token', 'list', '--json'], env);
      assert.equal(listed.code, 0);
      assert.ok(!listed.stdout.includes(body.token) && !listed.stdout.includes('scrypt'));
      const alice = JSON.parse(listed.stdout).find((t: any) => t.name === 'alice');
      assert.equal(alice.revoked_at, null);
      assert.equal((await runCli(['admin-token', 'revoke', 'alice'], env)).code, 0);
      // The row is read on every request: revoked at once, no cache to outlive it.
      assert.equal((await whoami(body.token)).status, 401);
      assert.equal((await runCli(['admin-token', 'revoke', 'alice'], env)).code, 1);
      assert.ok(!serve.output().includes(body.token), 'the token is never logged');
    } finally {
      await serve.stop();
    }
  });

  it('refuses to start the admin listener off loopback without TLS (exit 2, naming the setting)', async () => {
    const r = await runCli(['serve'], { ...env, D1AUTHZ_ADMIN_HOST: '0.0.0.0', D1AUTHZ_PORT: String(await freePort()) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_ADMIN_HOST/);
  });

  it('speaks TLS with the server certificate and asks no client certificate, while the public listener requires one', async () => {
    const ca = pki.ca('admin-ca');
    const server = pki.server(ca, 'admin-server');
    const d1ca = pki.ca('d1-ca');
    const adminPort = await freePort();
    const port = await freePort();
    const tlsEnv = { ...env, D1AUTHZ_TLS_CERT: server.certPath, D1AUTHZ_TLS_KEY: server.keyPath, D1AUTHZ_TLS_CLIENT_CA: d1ca.certPath, D1AUTHZ_ADMIN_PORT: String(adminPort) };
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../../src/cli/bin.cts', import.meta.url)), 'serve'], {
      env: { D1AUTHZ_WORKERS: '1', ...tlsEnv, D1AUTHZ_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      const health = await waitFor('the admin listener over TLS', async () => {
        try {
          return await httpsRequest(`https://127.0.0.1:${adminPort}/healthz`, { ca: ca.cert });
        } catch {
          return undefined;
        }
      }, 30_000, 200);
      assert.equal(health.status, 200, output);
      await assert.rejects(httpsRequest(`https://127.0.0.1:${port}/healthz`, { ca: ca.cert }), 'the public listener demands a D1-CA client certificate');
      assert.equal((await httpsRequest(`https://127.0.0.1:${adminPort}/admin/v1/whoami`, { ca: ca.cert })).status, 401);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('SIGUSR2 switches the log level to debug and back', async () => {
    const token = JSON.parse((await runCli(['admin-token', 'create', 'sig-reader', '--json'], env)).stdout).token;
    const adminPort = await freePort();
    const serve = await spawnServe({ ...env, D1AUTHZ_ADMIN_PORT: String(adminPort) }, await freePort());
    const level = async () => (await (await fetch(`http://127.0.0.1:${adminPort}/admin/v1/log-level`, { headers: { authorization: `Bearer ${token}` } })).json()).level;
    try {
      assert.equal(await level(), 'info');
      serve.child.kill('SIGUSR2');
      await waitFor('debug', async () => (await level()) === 'debug', 5000);
      serve.child.kill('SIGUSR2');
      await waitFor('info again', async () => (await level()) === 'info', 5000);
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });
});
