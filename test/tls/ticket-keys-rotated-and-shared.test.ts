/**
 * TLS session ticket keys (src/tls/ticket-keys.ts), on a running `serve`:
 * - the default rotation (3600 s) is what the server says it uses;
 * - in one process, a ticket resumes until the keys rotate, then the client does one full handshake
 *   and resumes again with its new ticket;
 * - with two workers, tickets resume on either worker after a rotation (the primary sends every
 *   worker the same new keys) and after a certificate reload (each worker re-keys alike), and a
 *   ticket from before the reload does not resume (its session's client certificate was checked
 *   against the files of then).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { fileURLToPath } from 'node:url';
import { createPki, type Ca, type Issued, type Pki } from './pki.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/bin.cjs', import.meta.url));
const SOURCES = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Connection {
  readonly reused: boolean;
  /** Sent as x-correlation-id: the request's log line names the worker (its pid). */
  readonly id: string;
  readonly session: Buffer | undefined;
}

let connections = 0;

/** A GET /healthz on a new TLS connection offering `session`: was it resumed. */
function healthz(port: number, ca: string, client: Issued, session: Buffer | undefined): Promise<Connection> {
  const id = `tickets-${process.pid}-${++connections}`;
  return new Promise((resolve, reject) => {
    let ticket: Buffer | undefined;
    let reused = false;
    let text = '';
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', cert: client.cert, key: client.key, ...(session ? { session } : {}) });
    socket.setTimeout(30_000, () => socket.destroy(new Error('timeout')));
    socket.on('session', (s: Buffer) => (ticket = s));
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.end(`GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-correlation-id: ${id}\r\nconnection: close\r\n\r\n`);
    });
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.once('error', reject);
    socket.once('close', () => (text.startsWith('HTTP/1.1 200') ? resolve({ reused, id, session: ticket ?? session }) : reject(new Error(text.slice(0, 200)))));
  });
}

describe('TLS session ticket keys', () => {
  let pki: Pki;
  let ca: Ca;
  let server: Issued;
  let d1: Issued;
  let db: TestDatabase;
  const masterKey = randomBytes(32).toString('base64');
  const children: ChildProcess[] = [];

  before(async () => {
    pki = createPki();
    ca = pki.ca('tickets-ca');
    server = pki.server(ca, 'tickets-server');
    d1 = pki.issue(ca, 'tickets-d1');
    db = await createTestDatabase();
    assert.equal((await runCli(['migrate'], cliEnv(db.url, masterKey))).code, 0);
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await db?.drop();
    pki?.cleanup();
  });

  /** `serve` over mutual TLS; resolves with its port and its output so far, once every worker listens. */
  async function serve(extra: Record<string, string>): Promise<{ port: number; output: () => string }> {
    const port = await freePort();
    const env = cliEnv(db.url, masterKey, {
      D1AUTHZ_TLS_CERT: server.certPath,
      D1AUTHZ_TLS_KEY: server.keyPath,
      D1AUTHZ_TLS_CLIENT_CA: ca.certPath,
      D1AUTHZ_PORT: String(port),
      D1AUTHZ_ADMIN_PORT: '0',
      D1AUTHZ_WORKERS: '1',
      ...extra,
    });
    // The build when there is one (npm ci builds it), else the sources: both are the `serve` an operator runs.
    const args = existsSync(BUILT) ? [BUILT, 'serve'] : ['--import', 'tsx', SOURCES, 'serve'];
    const child = spawn(process.execPath, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    await waitFor('serve to listen', () => {
      if (child.exitCode !== null) throw new Error(`serve exited: ${output}`);
      return /d1-authz listening/.test(output);
    }, 120_000, 100);
    // The primary sends the workers their keys as each one listens: give the channel a moment.
    await sleep(300);
    return { port, output: () => output };
  }

  /** A fresh ticket, then `count` connections each offering the last ticket. */
  async function chain(port: number, count: number, start?: Buffer): Promise<Connection[]> {
    const out: Connection[] = [];
    let session = start;
    for (let i = 0; i < count; i++) {
      const c = await healthz(port, ca.cert, d1, session);
      out.push(c);
      session = c.session;
    }
    return out;
  }

  it('rotates hourly by default, as the running server says', async () => {
    const { output } = await serve({});
    const line = output().split('\n').find((l) => l.includes('TLS session tickets on'));
    assert.ok(line, output());
    assert.equal(JSON.parse(line).rotation_seconds, 3600);
  });

  it('one process: a ticket resumes until the keys rotate, then one full handshake and it resumes again', async () => {
    const ROTATION_S = 4;
    const { port } = await serve({ D1AUTHZ_TLS_TICKET_KEY_ROTATION: String(ROTATION_S) });
    // A rotation may fall between two connections: a fresh pair right after it resumes.
    const resumesNow = async () => {
      for (let attempt = 0; attempt < 2; attempt++) {
        const [first, second] = await chain(port, 2);
        if (second!.reused) return first!.session;
        assert.equal(first!.reused, false);
      }
      assert.fail('a fresh ticket did not resume twice in a row');
    };
    const ticket = await resumesNow();
    await sleep(ROTATION_S * 1000 + 500);
    const [afterRotation, again] = await chain(port, 2, ticket);
    assert.equal(afterRotation!.reused, false, 'the ticket from before the rotation is not accepted');
    assert.equal(again!.reused, true, 'the new ticket resumes');
  });

  it('two workers: tickets resume on either worker after a rotation and after a certificate reload; a ticket from before the reload does not', async () => {
    const ROTATION_S = 5;
    const { port, output } = await serve({ D1AUTHZ_WORKERS: '2', D1AUTHZ_TLS_TICKET_KEY_ROTATION: String(ROTATION_S) });
    const pidOf = (id: string) => output().split('\n').find((l) => l.includes(`"correlation_id":"${id}"`))?.match(/"pid":(\d+)/)?.[1];
    const acrossWorkers = async (list: Connection[], label: string) => {
      assert.deepEqual(list.slice(1).map((c) => c.reused), Array(list.length - 1).fill(true), `${label}: every later connection resumes`);
      const pids = await waitFor(`${label}: the request log lines`, () => {
        const found = list.map((c) => pidOf(c.id));
        return found.every(Boolean) && found;
      }, 10_000, 50);
      assert.equal(new Set(pids).size, 2, `${label}: answered by both workers (${pids.join(', ')})`);
    };

    await sleep(ROTATION_S * 1000 + 500);
    const rotated = await chain(port, 6);
    await acrossWorkers(rotated, 'after a rotation');

    // A renewed certificate: both workers reload it.
    const renewed = pki.server(ca, 'tickets-server-renewed');
    copyFileSync(renewed.keyPath, server.keyPath);
    copyFileSync(renewed.certPath, server.certPath);
    await waitFor('both workers to reload the certificate', () => output().split('\n').filter((l) => l.includes('TLS certificate reloaded')).length >= 2, 30_000, 100);
    const before = rotated.at(-1)!.session;
    const reloaded = await chain(port, 6, before);
    assert.equal(reloaded[0]!.reused, false, 'a ticket from before the reload does not resume');
    await acrossWorkers(reloaded, 'after a reload');
  });
});
