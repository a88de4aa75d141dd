/**
 * The real `d1-authz serve` process with D1AUTHZ_TLS_CERT/KEY/CLIENT_CA: speaks mutual TLS,
 * advertises an https issuer, picks up a renewed certificate on SIGHUP and on file change.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { createPki, FORM, httpsRequest, servedCertificate, type Ca, type Issued, type Pki } from './pki.js';
import { freePort } from '../helpers/free-port.js';
import { sleep } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('serve over mutual TLS', () => {
  let pki: Pki;
  let ca: Ca;
  let first: Issued;
  let second: Issued;
  let d1: Issued;
  let dir: string;
  let db: TestDatabase;
  let child: ChildProcess | undefined;
  let output = '';

  before(async () => {
    pki = createPki();
    ca = pki.ca('serve-ca');
    first = pki.server(ca, 'serve-first');
    second = pki.server(ca, 'serve-second');
    d1 = pki.issue(ca, 'serve-d1', { dns: ['d1.thales.example'] });
    dir = mkdtempSync(join(tmpdir(), 'd1authz-serve-tls-'));
    copyFileSync(first.certPath, join(dir, 'tls.crt'));
    copyFileSync(first.keyPath, join(dir, 'tls.key'));
    db = await createTestDatabase();
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.drop();
    pki?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https with a client certificate required (2 workers), reloads on change and on SIGHUP, drains on SIGTERM', async () => {
    const port = await freePort();
    const env = cliEnv(db.url, randomBytes(32).toString('base64'), {
      D1AUTHZ_PORT: String(port),
      D1AUTHZ_TLS_CERT: join(dir, 'tls.crt'),
      D1AUTHZ_TLS_KEY: join(dir, 'tls.key'),
      D1AUTHZ_TLS_CLIENT_CA: ca.certPath,
      // Two cluster workers: each serves TLS and reloads on its own; the primary passes SIGHUP on.
      D1AUTHZ_WORKERS: '2',
    });
    assert.equal((await runCli(['migrate'], env)).code, 0); // CLI commands use an existing store, they never create one
    const created = await runCli(['client', 'create', 'd1', '--auth-method', 'tls_client_auth', '--cert-san-dns', 'd1.thales.example', '--bound-tokens'], env);
    assert.equal(created.code, 0, created.stderr);

    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    await until('serve to listen', () => {
      if (child!.exitCode !== null) throw new Error(`serve exited: ${output}`);
      return /d1-authz listening/.test(output);
    }, 90_000); // two workers each compile the sources (tsx): slow on a busy machine
    const origin = `https://127.0.0.1:${port}`;

    const meta = await httpsRequest(`${origin}/authz/d1/v1/.well-known/oauth-authorization-server`, { ca: ca.cert, client: d1 });
    assert.equal(meta.json.issuer, `${origin}/authz/d1/v1`);
    await assert.rejects(httpsRequest(`${origin}/healthz`, { ca: ca.cert }), 'no client certificate: no handshake');
    const token = await httpsRequest(`${origin}/authz/d1/v1/oauth2/token`, { method: 'POST', headers: FORM, body: 'grant_type=client_credentials&client_id=d1', ca: ca.cert, client: d1 });
    assert.equal(token.status, 200, JSON.stringify(token.json));

    assert.equal((await servedCertificate(port, ca.cert, d1)).serialNumber, first.x509.serialNumber);
    copyFileSync(second.keyPath, join(dir, 'tls.key'));
    copyFileSync(second.certPath, join(dir, 'tls.crt'));
    await until('the renewed certificate', async () => (await servedCertificate(port, ca.cert, d1)).serialNumber === second.x509.serialNumber);

    child.kill('SIGHUP');
    // Each worker answers SIGHUP: "unchanged", or "reloaded" if its own file-change reload was still pending.
    await until('the SIGHUP log of both workers', () => (output.match(/"reason":"SIGHUP"/g) ?? []).length === 2);
    assert.equal(child.exitCode, null, 'SIGHUP does not stop the server');

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
