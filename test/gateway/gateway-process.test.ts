/**
 * `d1-authz gateway` as an operator runs it (a child process), so its memory can be watched alone:
 * 50 MiB down and 50 MiB up go through without the gateway's RSS growing by anything like that.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { accessToken, type Caller } from '../helpers/token-status.js';
import { chunkAt, MiB, startUpstream, type Upstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/free-port.js';
import { sleep } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Samples the RSS of `pid` while `work` runs; returns the peak. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 10);
  try {
    const result = await work();
    peak = Math.max(peak, rssMiB(pid));
    return { peak, result };
  } finally {
    clearInterval(timer);
  }
}

describe('d1-authz gateway (process)', () => {
  let server: TestServer;
  let upstream: Upstream;
  let app: Caller;
  let dir: string;
  let child: ChildProcess;
  let output = '';
  let origin: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'd1authz-gwp-'));
    server = await startTestServer();
    upstream = await startUpstream();
    app = await server.createClient('d1-app', { scopes: ['consumer'], defaultScopes: ['consumer'] });
    const routes = join(dir, 'routes.json');
    writeFileSync(
      routes,
      JSON.stringify({
        routes: [
          { method: 'GET', path: '/big', scopes: ['consumer'] },
          { method: 'POST', path: '/upload', scopes: ['consumer'] },
        ],
      }),
    );
    const port = await freePort();
    // The issuer comes from the d1-authz environment, as it would on a bank's host.
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'gateway', '--upstream', upstream.origin, '--config', routes, '--port', String(port)], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', D1AUTHZ_ISSUER: server.issuer },
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 20_000;
    while (!output.includes('gateway listening')) {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${output}`);
      if (Date.now() > deadline) throw new Error(`gateway did not start: ${output}`);
      await sleep(50);
    }
    origin = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await upstream?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams a 50 MiB response without the gateway holding it', async () => {
    const token = await accessToken(server, app);
    const get = async (mib: number) => {
      const res = await fetch(`${origin}/big?mib=${mib}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        hash.update(chunk);
      }
      return { bytes, sha256: hash.digest('hex') };
    };
    // Warm-up: JIT, connection pools, guard key cache, and the allocator arenas a large transfer needs once.
    await get(8);
    await get(8);
    await sleep(200);
    const baseline = rssMiB(child.pid!);
    const { peak, result } = await peakRss(child.pid!, () => get(50));
    const expected = createHash('sha256');
    for (let i = 0; i < (50 * MiB) / (64 * 1024); i++) expected.update(chunkAt(i));
    assert.deepEqual(result, { bytes: 50 * MiB, sha256: expected.digest('hex') });
    console.log(`# 50 MiB download through the gateway: RSS ${baseline.toFixed(1)} MiB -> peak ${peak.toFixed(1)} MiB (+${(peak - baseline).toFixed(1)})`);
    // Holding the body would take 50 MiB or more; what shows is memory not yet collected or given back (measured 0-38 MiB).
    assert.ok(peak - baseline < 50, `gateway RSS grew by ${(peak - baseline).toFixed(1)} MiB for a 50 MiB body`);
  });

  it('streams a 50 MiB upload without the gateway holding it', async () => {
    const token = await accessToken(server, app);
    const chunks = (50 * MiB) / (64 * 1024);
    const baseline = rssMiB(child.pid!);
    const hash = createHash('sha256');
    const { peak, result } = await peakRss(child.pid!, async () => {
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < chunks; i++) {
            const c = chunkAt(i);
            hash.update(c);
            yield c;
          }
        })(),
      );
      const res = await fetch(`${origin}/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      return { status: res.status, json: await res.json() };
    });
    assert.equal(result.status, 200);
    assert.deepEqual(result.json, { bytes: 50 * MiB, sha256: hash.digest('hex') });
    console.log(`# 50 MiB upload through the gateway: RSS ${baseline.toFixed(1)} MiB -> peak ${peak.toFixed(1)} MiB (+${(peak - baseline).toFixed(1)})`);
    // Holding the body would take 50 MiB or more; what shows is memory not yet collected or given back (measured 0-38 MiB).
    assert.ok(peak - baseline < 50, `gateway RSS grew by ${(peak - baseline).toFixed(1)} MiB for a 50 MiB body`);
  });

  // A gateway that buffered would take in the whole 256 MiB within the second; a streaming one only
  // what the socket and stream buffers hold (the kernel's autotuned TCP buffers can reach tens of MiB).
  it('backpressure: a client that stops reading holds the upstream back (nothing piles up in the gateway)', async () => {
    const token = await accessToken(server, app);
    upstream.progress.bigWritten = 0;
    const abort = new AbortController();
    const res = await fetch(`${origin}/big?mib=256`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    assert.equal(res.status, 200);
    await sleep(1000); // the client reads nothing meanwhile
    const pushed = upstream.progress.bigWritten;
    abort.abort();
    console.log(`# download, client not reading for 1 s: the upstream could push ${(pushed / MiB).toFixed(1)} of 256 MiB`);
    assert.ok(pushed < 64 * MiB, `the upstream pushed ${(pushed / MiB).toFixed(1)} MiB into a client that reads nothing`);
  });

  it('backpressure: an upstream that stops reading holds the client back', async () => {
    const token = await accessToken(server, app);
    let produced = 0;
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < (256 * MiB) / (64 * 1024); i++) {
          produced += 64 * 1024;
          yield chunkAt(i);
        }
      })(),
    );
    const abort = new AbortController();
    const pending = fetch(`${origin}/upload?pause=1500`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
      signal: abort.signal,
    } as RequestInit).catch((err: Error) => err);
    await sleep(1000); // the upstream reads nothing meanwhile
    const sent = produced;
    abort.abort();
    await pending;
    console.log(`# upload, upstream not reading for 1 s: the client could send ${(sent / MiB).toFixed(1)} of 256 MiB`);
    assert.ok(sent < 64 * MiB, `the client sent ${(sent / MiB).toFixed(1)} MiB to an upstream that reads nothing`);
  });

  it('logs one line per request, without the token', async () => {
    const token = await accessToken(server, app);
    await (await fetch(`${origin}/big?mib=1`, { headers: { authorization: `Bearer ${token}`, 'x-correlation-id': 'trace-me-1' } })).arrayBuffer();
    await sleep(200);
    const line = output.split('\n').find((l) => l.includes('trace-me-1'));
    assert.ok(line, output.slice(-2000));
    const entry = JSON.parse(line);
    assert.equal(entry.correlation_id, 'trace-me-1');
    assert.equal(entry.client_id, 'd1-app');
    assert.equal(entry.path, '/big');
    assert.equal(entry.outcome, 'forwarded');
    assert.ok(!output.includes(token.split('.')[2]!), 'no token in the log');
  });

  it('exits 0 on SIGTERM', async () => {
    // A gateway that died earlier would leave this waiting for an exit that already happened.
    assert.equal(child.exitCode, null, `the gateway exited before SIGTERM: ${output.slice(-2000)}`);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  it('a bad routes file or no upstream stops start-up with exit code 2 and a message', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'routes:\n  - path: /x\n    scopes: nope\n');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
    const r = await runCli(['gateway', '--upstream', 'http://127.0.0.1:9', '--config', bad], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /routes\.0\.scopes/);
    writeFileSync(bad, 'routes: []\n');
    const noUpstream = await runCli(['gateway', '--config', bad], env);
    assert.equal(noUpstream.code, 2);
    assert.match(noUpstream.stderr, /no upstream/);
  });
});
