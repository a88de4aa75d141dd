/**
 * TLS session resumption across `serve --workers 2`: every worker encrypts session tickets with the
 * same key (derived from a secret the primary hands out), so a client that comes back with its
 * ticket resumes whichever worker the kernel hands the connection to. A resumed connection still
 * carries the client certificate: a bound token names it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { createPki, jwtPayload, type Ca, type Issued, type Pki } from './pki.js';
import { freePort } from '../helpers/free-port.js';
import { sleep, waitFor } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Answer {
  readonly reused: boolean;
  readonly status: number;
  readonly body: string;
  readonly session: Buffer | undefined;
}

/** One token request on a new connection, offering `session`; resolves with the ticket the server sent. */
function tokenOnNewConnection(port: number, ca: string, client: Issued, session: Buffer | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    let reused = false;
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', cert: client.cert, key: client.key, ...(session ? { session } : {}) });
    socket.setTimeout(30_000, () => socket.destroy(new Error('timeout')));
    socket.on('session', (s: Buffer) => (ticket = s));
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      const body = 'grant_type=client_credentials&client_id=d1';
      socket.end(
        `POST /authz/d1/v1/oauth2/token HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n` +
          `content-type: application/x-www-form-urlencoded\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ reused, status: Number(text.slice(9, 12)), body: text.slice(text.indexOf('\r\n\r\n') + 4), session: ticket ?? session });
    });
  });
}

describe('TLS session resumption with two workers', () => {
  let pki: Pki;
  let ca: Ca;
  let server: Issued;
  let d1: Issued;
  let db: TestDatabase;
  let child: ChildProcess | undefined;
  let output = '';

  before(async () => {
    pki = createPki();
    ca = pki.ca('resume-ca');
    server = pki.server(ca, 'resume-server');
    d1 = pki.issue(ca, 'resume-d1', { dns: ['d1.thales.example'] });
    db = await createTestDatabase();
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.drop();
    pki?.cleanup();
  });

  it('a returning client resumes its session on every connection, whichever worker takes it, and keeps its certificate binding', async () => {
    const port = await freePort();
    const env = cliEnv(db.url, randomBytes(32).toString('base64'), {
      D1AUTHZ_TLS_CERT: server.certPath,
      D1AUTHZ_TLS_KEY: server.keyPath,
      D1AUTHZ_TLS_CLIENT_CA: ca.certPath,
      D1AUTHZ_WORKERS: '2',
      D1AUTHZ_PORT: String(port),
    });
    assert.equal((await runCli(['migrate'], env)).code, 0);
    const created = await runCli(['client', 'create', 'd1', '--auth-method', 'tls_client_auth', '--cert-san-dns', 'd1.thales.example', '--bound-tokens'], env);
    assert.equal(created.code, 0, created.stderr);
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 120_000; // two workers each compile the sources (tsx): slow on a busy machine
    while (!/d1-authz listening/.test(output)) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`serve did not start: ${output}`);
      await sleep(100);
    }

    let session: Buffer | undefined;
    const answers: Answer[] = [];
    for (let i = 0; i < 8; i++) {
      const a = await tokenOnNewConnection(port, ca.cert, d1, session);
      assert.equal(a.status, 200, a.body);
      assert.equal(jwtPayload(JSON.parse(a.body).access_token).cnf['x5t#S256'], d1.thumbprint, `connection ${i}: bound to the presented certificate`);
      answers.push(a);
      session = a.session;
    }
    assert.equal(answers[0]!.reused, false, 'the first connection has nothing to resume');
    assert.deepEqual(
      answers.slice(1).map((a) => a.reused),
      Array(7).fill(true),
      'every later connection resumes (round-robin hands them to both workers in turn)',
    );
    // The request log lines carry the worker's pid: both workers answered resumed connections. Each
    // worker writes its lines within 100 ms (docs/operations.md, "Logs"): wait for all 8.
    const tokenLines = () => output.split('\n').filter((l) => l.includes('"msg":"request"') && l.includes('oauth2/token'));
    await waitFor('the 8 request lines', () => tokenLines().length >= 8, 5_000, 50);
    const pids = new Set(tokenLines().map((l) => /"pid":(\d+)/.exec(l)?.[1]));
    assert.equal(pids.size, 2, `token requests answered by both workers: ${[...pids].join(', ')}`);
  });
});
