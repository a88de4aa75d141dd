// Benchmark driver: `npm run bench` (= node --import tsx bench/run.ts).
//
// For each target (bench/targets.ts): spawn the server on a free 127.0.0.1 port, wait until ready,
// check one token (valid ES256 JWT against the server's JWKS, response shape, wrong secret refused),
// warm up, then drive it with autocannon (keep-alive) at each connection count while sampling the
// server process tree's CPU time and peak RSS from /proc. Prints the tables and writes BENCHMARKS.md.
//
// Env:
//   BENCH_ONLY=a,b          run only these targets (names from bench/targets.ts)
//   BENCH_DURATION=10       seconds per load run
//   BENCH_WARMUP=3          seconds of warm-up per target (at the highest connection count)
//   BENCH_CONNECTIONS=16,64 connection counts
//   BENCH_REPEAT=1          load runs per connection count; the table shows the best (highest tokens/s)
//   BENCH_QUIET_WAIT=20     before each run, wait up to this many seconds for the machine to be idle (0 = don't)
//   BENCH_OUT=path          report path (default BENCHMARKS.md at the repo root; '-' = don't write)
//   BENCH_BUILD=1           run `npm run build` first (d1-authz targets need dist/)
//   BENCH_D1_LOG_LEVEL=info D1AUTHZ_LOG_LEVEL for the d1-authz targets
//   BENCH_LOG_DIR=dir       keep each server's stdout/stderr there (default: stdout discarded)
//   BENCH_KEEP=1            keep the per-target temp directories
//   BENCH_TSX=1             run the baselines as .ts through tsx (default: transpiled to plain JS first)

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import autocannon from 'autocannon';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';

import { BENCH_REQUEST_SCOPE, TOKEN_TTL_S } from './lib/shared.js';
import { cpuSecondsBetween, cpuTicks, machineBusySeconds, peakRssMiB, processTree, resetPeakRss, rssMiB } from './lib/proc.js';
import { RATIO_PAIRS, ROOT, TARGETS } from './targets.js';
import type { LaunchSpec, ResponseShape, Target } from './targets.js';

// ---------------------------------------------------------------------------------------------
// Settings

function numEnv(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
}

const DURATION_S = numEnv('BENCH_DURATION', 10);
const WARMUP_S = numEnv('BENCH_WARMUP', Math.min(3, DURATION_S));
const CONNECTIONS = (process.env['BENCH_CONNECTIONS'] ?? '16,64')
  .split(',')
  .map((s) => Number.parseInt(s.trim(), 10))
  .filter((n) => Number.isInteger(n) && n > 0);
const ONLY = (process.env['BENCH_ONLY'] ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
const REPEAT = Math.round(numEnv('BENCH_REPEAT', 1));
const QUIET_WAIT_S = process.env['BENCH_QUIET_WAIT'] === '0' ? 0 : numEnv('BENCH_QUIET_WAIT', 20);
const OUT = process.env['BENCH_OUT'] ?? join(ROOT, 'BENCHMARKS.md');
const LOG_DIR = process.env['BENCH_LOG_DIR'];
const KEEP = process.env['BENCH_KEEP'] === '1';
const READY_TIMEOUT_MS = 60_000;
const CLIENT_ID = 'bench-client';
/** 2xx bodies kept per run (uniform reservoir sample over the whole run) for full JWT verification. */
const MAX_SAMPLES = 8;

if (CONNECTIONS.length === 0) throw new Error('BENCH_CONNECTIONS has no valid value');
for (const name of ONLY) {
  if (!TARGETS.some((t) => t.name === name)) {
    throw new Error(`BENCH_ONLY: unknown target "${name}" (known: ${TARGETS.map((t) => t.name).join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Results

interface LoadResult {
  target: string;
  connections: number;
  tokensPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  ok2xx: number;
  errors: number;
  errorDetail: string;
  peakRssMiB: number;
  cpuS: number;
  cpuMsPer1k: number;
  genCpuS: number;
  /** Busy CPU on the machine not accounted for by the server tree or the load generator (noise). */
  otherCpuS: number;
  processes: number;
  durationS: number;
  /** tokens/s of every attempt when BENCH_REPEAT > 1 (the row shows the best one). */
  attempts: number[];
}

interface TargetReport {
  target: Target;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  startupMs?: number;
  idleRssMiB?: number;
  checks: string[];
  notes: string[];
  runs: LoadResult[];
}

// ---------------------------------------------------------------------------------------------
// Helpers

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

function basicAuth(id: string, secret: string): string {
  // RFC 6749 §2.3.1: form-urlencode both parts before Base64.
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

const FORM_BODY = `grant_type=client_credentials&scope=${encodeURIComponent(BENCH_REQUEST_SCOPE)}`;

/** Servers currently running, so an unexpected exit of the driver does not leave them behind. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

class ServerProcess {
  readonly child: ChildProcess;
  private stderrTail = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly fds: number[] = [];

  constructor(name: string, spec: LaunchSpec) {
    let stdout: 'ignore' | number = 'ignore';
    let stderr: 'pipe' | number = 'pipe';
    if (LOG_DIR !== undefined) {
      mkdirSync(LOG_DIR, { recursive: true });
      stdout = openSync(join(LOG_DIR, `${name}.stdout.log`), 'w');
      stderr = openSync(join(LOG_DIR, `${name}.stderr.log`), 'w');
      this.fds.push(stdout, stderr);
    }
    this.child = spawn(spec.command, spec.args, { cwd: ROOT, env: spec.env, stdio: ['ignore', stdout, stderr] });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
    });
    live.add(this.child);
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      live.delete(this.child);
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('server process did not start');
    return this.child.pid;
  }

  get exitInfo(): string | undefined {
    if (!this.exited) return undefined;
    return `exited (${this.exited.signal ?? `code ${String(this.exited.code)}`})${this.stderrTail ? `; stderr:\n${this.stderrTail}` : ''}`;
  }

  tail(): string {
    return this.stderrTail;
  }

  async waitReady(url: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const dead = this.exitInfo;
      if (dead) throw new Error(`server ${dead}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`not ready after ${READY_TIMEOUT_MS} ms (${url})${this.stderrTail ? `; stderr:\n${this.stderrTail}` : ''}`);
  }

  async stop(): Promise<void> {
    const tree = this.child.pid !== undefined && !this.exited ? processTree(this.child.pid) : [];
    if (!this.exited) {
      const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      await Promise.race([done, sleep(5000)]);
      if (!this.exited) {
        this.child.kill('SIGKILL');
        await Promise.race([done, sleep(2000)]);
      }
    }
    // Leftover descendants (e.g. cluster workers) of the server we started.
    await sleep(200);
    for (const pid of tree) {
      if (pid === this.child.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const fd of this.fds) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Token checks

interface TokenChecker {
  check(body: string): Promise<string | null>;
}

async function makeChecker(jwksUrl: string, shape: ResponseShape): Promise<TokenChecker> {
  const res = await fetch(jwksUrl);
  if (!res.ok) throw new Error(`JWKS ${jwksUrl} answered ${res.status}`);
  const jwks = (await res.json()) as JSONWebKeySet;
  const keyset = createLocalJWKSet(jwks);
  return {
    async check(body: string): Promise<string | null> {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return `not JSON: ${body.slice(0, 120)}`;
      }
      const at = json['access_token'];
      if (typeof at !== 'string') return 'no access_token';
      if (typeof json['token_type'] !== 'string' || json['token_type'].toLowerCase() !== 'bearer') {
        return `token_type ${String(json['token_type'])}`;
      }
      if (shape === 'd1') {
        if (json['token_type'] !== 'Bearer') return `token_type ${String(json['token_type'])} (D1 wants "Bearer")`;
        if (json['expires_in'] !== String(TOKEN_TTL_S)) return `expires_in ${JSON.stringify(json['expires_in'])} (want "${TOKEN_TTL_S}")`;
        if (typeof json['scope'] !== 'string') return 'no scope';
        const ea = json['expires_at'];
        if (typeof ea !== 'string' || Number.isNaN(Date.parse(ea))) return `expires_at ${JSON.stringify(ea)}`;
      } else if (typeof json['expires_in'] !== 'number') {
        return `expires_in ${JSON.stringify(json['expires_in'])} (want a number)`;
      }
      try {
        const header = decodeProtectedHeader(at);
        if (header.alg !== 'ES256') return `alg ${String(header.alg)}`;
        const { payload } = await jwtVerify(at, keyset, { algorithms: ['ES256'] });
        if (typeof payload.exp !== 'number' || payload.exp * 1000 <= Date.now()) return 'exp missing or past';
      } catch (err) {
        return `JWT: ${(err as Error).message}`;
      }
      return null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load

interface LoadPlan {
  url: string;
  authorization: string;
  connections: number;
  durationS: number;
}

interface LoadOutcome {
  result: autocannon.Result;
  malformed: number;
  samples: string[];
  /** 2xx latencies in ms, sorted ascending (autocannon's own histogram has 1 ms resolution). */
  latencies: Float64Array;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

async function load(plan: LoadPlan): Promise<LoadOutcome> {
  let seen = 0;
  let malformed = 0;
  const samples: string[] = [];
  let lat = new Float64Array(1 << 16);
  let nLat = 0;
  const result = await runAutocannon({
    url: plan.url,
    connections: plan.connections,
    duration: plan.durationS,
    pipelining: 1,
    requests: [
      {
        method: 'POST',
        headers: {
          authorization: plan.authorization,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: FORM_BODY,
        onResponse: (status: number, body: string) => {
          if (status < 200 || status > 299) return;
          // Cheap per-response check; full JWT verification on a sample after the run.
          if (!body.includes('"access_token":"ey')) malformed++;
          seen++;
          if (samples.length < MAX_SAMPLES) samples.push(body);
          else {
            const j = Math.floor(Math.random() * seen);
            if (j < MAX_SAMPLES) samples[j] = body;
          }
        },
      },
    ],
  }, (status, responseTime) => {
    if (status < 200 || status > 299) return;
    if (nLat === lat.length) {
      const bigger = new Float64Array(lat.length * 2);
      bigger.set(lat);
      lat = bigger;
    }
    lat[nLat++] = responseTime;
  });
  const latencies = lat.subarray(0, nLat).sort();
  return { result, malformed, samples, latencies };
}

function runAutocannon(
  opts: autocannon.Options,
  onResponse: (status: number, responseTimeMs: number) => void,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err: unknown, result: autocannon.Result) => {
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result);
    });
    instance.on('response', (_client, status, _bytes, responseTime) => onResponse(status, responseTime));
  });
}

const RSS_NOTE = 'peak RSS since process start (clear_refs failed)';

/** Busy CPU (cores) of the whole machine must stay under this for a 1 s window to call it quiet. */
const QUIET_CORES = 0.25;

/** Wait (up to QUIET_WAIT_S) for a quiet 1 s window; the idle server under test barely registers. */
async function waitQuiet(name: string): Promise<void> {
  if (QUIET_WAIT_S <= 0) return;
  const deadline = Date.now() + QUIET_WAIT_S * 1000;
  let announced = false;
  for (;;) {
    const before = machineBusySeconds();
    await sleep(1000);
    const cores = machineBusySeconds() - before;
    if (!(cores >= QUIET_CORES)) return; // also returns on NaN (no /proc/stat)
    if (Date.now() >= deadline) {
      log(`${name}: machine still busy (${cores.toFixed(2)} cores), running anyway`);
      return;
    }
    if (!announced) {
      log(`${name}: machine busy (${cores.toFixed(2)} cores used by others), waiting up to ${QUIET_WAIT_S}s`);
      announced = true;
    }
  }
}

interface Measurement {
  run: LoadResult;
  sampled: number;
  badSamples: number;
  rssResetFailed: boolean;
}

async function measure(name: string, server: ServerProcess, plan: LoadPlan, checker: TokenChecker): Promise<Measurement> {
  const treeBefore = processTree(server.pid);
  const rssResetFailed = !resetPeakRss(treeBefore);
  const cpuBefore = cpuTicks(treeBefore);
  const genBefore = process.cpuUsage();
  const busyBefore = machineBusySeconds();
  const { result, malformed, samples, latencies } = await load(plan);
  const gen = process.cpuUsage(genBefore);
  const genCpuS = (gen.user + gen.system) / 1e6;
  const busy = machineBusySeconds() - busyBefore;
  const treeAfter = processTree(server.pid);
  const cpuS = cpuSecondsBetween(cpuBefore, cpuTicks(treeAfter));
  const peak = peakRssMiB(treeAfter);
  const dead = server.exitInfo;
  if (dead) throw new Error(`server died during load: ${dead}`);

  let badSamples = 0;
  const sampleProblems: string[] = [];
  for (const s of samples) {
    const p = await checker.check(s);
    if (p !== null) {
      badSamples++;
      sampleProblems.push(p);
    }
  }
  const ok2xx = result['2xx'];
  const durationS = result.duration > 0 ? result.duration : plan.durationS;
  const errors = result.non2xx + result.errors + malformed + badSamples;
  const parts: string[] = [];
  if (result.non2xx) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, v]) => `${code}x${v.count ?? 0}`)
      .join(' ');
    parts.push(`non-2xx ${result.non2xx}${codes ? ` (${codes})` : ''}`);
  }
  if (result.errors) parts.push(`conn errors ${result.errors} (timeouts ${result.timeouts})`);
  if (malformed) parts.push(`malformed bodies ${malformed}`);
  if (badSamples) parts.push(`bad samples ${badSamples}: ${sampleProblems[0] ?? ''}`);
  return {
    run: {
      target: name,
      connections: plan.connections,
      tokensPerSec: ok2xx / durationS,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      p999: percentile(latencies, 99.9),
      ok2xx,
      errors,
      errorDetail: parts.join('; '),
      peakRssMiB: peak,
      cpuS,
      cpuMsPer1k: ok2xx > 0 ? (cpuS * 1000 * 1000) / ok2xx : Number.NaN,
      genCpuS,
      otherCpuS: Math.max(0, busy - cpuS - genCpuS),
      processes: treeAfter.length,
      durationS,
      attempts: [],
    },
    sampled: samples.length,
    badSamples,
    rssResetFailed,
  };
}

// ---------------------------------------------------------------------------------------------
// One target

async function runTarget(target: Target): Promise<TargetReport> {
  const report: TargetReport = { target, status: 'ok', checks: [], notes: [], runs: [] };
  const skip = target.unavailable ? await target.unavailable() : null;
  if (skip !== null) {
    log(`${target.name}: skipped (${skip})`);
    return { ...report, status: 'skipped', reason: skip };
  }

  const workDir = mkdtempSync(join(os.tmpdir(), `d1-bench-${target.name}-`));
  let server: ServerProcess | undefined;
  try {
    const port = await freePort();
    const secret = randomBytes(32).toString('base64url'); // 43 chars
    log(`${target.name}: preparing (port ${port})`);
    const spec = await target.prepare({ port, workDir, secret, clientId: CLIENT_ID });
    report.notes.push(...spec.notes);
    const base = `http://127.0.0.1:${port}`;

    const t0 = Date.now();
    server = new ServerProcess(target.name, spec);
    await server.waitReady(`${base}${spec.readyPath}`);
    report.startupMs = Date.now() - t0;
    await sleep(300);
    report.idleRssMiB = rssMiB(processTree(server.pid));
    log(`${target.name}: ready in ${report.startupMs} ms, idle RSS ${report.idleRssMiB.toFixed(1)} MiB`);

    // Pre-flight: one token, verified; wrong secret refused.
    const authorization = basicAuth(spec.credentials.clientId, spec.credentials.clientSecret);
    const url = `${base}${spec.tokenPath}`;
    const checker = await makeChecker(await spec.jwksUrl(base), spec.shape);
    const first = await fetch(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: FORM_BODY,
    });
    const firstBody = await first.text();
    if (first.status !== 200) throw new Error(`pre-flight token request answered ${first.status}: ${firstBody.slice(0, 300)}`);
    const problem = await checker.check(firstBody);
    if (problem !== null) throw new Error(`pre-flight token invalid: ${problem}`);
    report.checks.push('pre-flight token: 200, ES256 JWT verified against JWKS, response shape ok');
    if (spec.authenticates) {
      const bad = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: basicAuth(spec.credentials.clientId, `${spec.credentials.clientSecret}x`),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: FORM_BODY,
      });
      await bad.arrayBuffer();
      if (bad.status !== 401 && bad.status !== 400) throw new Error(`wrong secret answered ${bad.status} (want 401)`);
      report.checks.push(`wrong secret refused (${bad.status})`);
    }

    const maxConn = Math.max(...CONNECTIONS);
    log(`${target.name}: warm-up ${WARMUP_S}s x ${maxConn} connections`);
    const warm = await load({ url, authorization, connections: maxConn, durationS: WARMUP_S });
    if (warm.result['2xx'] === 0) throw new Error(`warm-up got no 2xx (non2xx ${warm.result.non2xx}, errors ${warm.result.errors})`);

    for (const connections of CONNECTIONS) {
      const attempts: LoadResult[] = [];
      let sampled = 0;
      let verified = 0;
      for (let i = 0; i < REPEAT; i++) {
        await sleep(500);
        await waitQuiet(target.name);
        log(`${target.name}: ${connections} connections x ${DURATION_S}s${REPEAT > 1 ? ` (run ${i + 1}/${REPEAT})` : ''}`);
        const m = await measure(target.name, server, { url, authorization, connections, durationS: DURATION_S }, checker);
        if (m.rssResetFailed && !report.notes.includes(RSS_NOTE)) report.notes.push(RSS_NOTE);
        sampled += m.sampled;
        verified += m.sampled - m.badSamples;
        attempts.push(m.run);
        log(
          `${target.name} c=${connections}: ${m.run.tokensPerSec.toFixed(0)} tok/s, p99 ${m.run.p99.toFixed(2)} ms, ` +
            `errors ${m.run.errors}, RSS ${m.run.peakRssMiB.toFixed(1)} MiB, CPU ${m.run.cpuS.toFixed(2)} s, other CPU ${m.run.otherCpuS.toFixed(2)} s`,
        );
      }
      report.checks.push(`${connections} conns: ${verified}/${sampled} sampled tokens verified`);
      // Best of REPEAT by throughput (least disturbed); errors are summed over all attempts.
      const best = attempts.reduce((a, b) => (b.tokensPerSec > a.tokensPerSec ? b : a));
      report.runs.push({
        ...best,
        errors: attempts.reduce((n, a) => n + a.errors, 0),
        errorDetail: attempts.map((a) => a.errorDetail).filter((d) => d !== '').join(' | '),
        attempts: attempts.map((a) => a.tokensPerSec),
      });
    }
  } catch (err) {
    const msg = (err as Error).message;
    log(`${target.name}: FAILED: ${msg}`);
    report.status = 'failed';
    report.reason = msg;
  } finally {
    if (server) await server.stop();
    if (!KEEP) rmSync(workDir, { recursive: true, force: true });
    else report.notes.push(`work dir kept: ${workDir}`);
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return `${(a / b).toFixed(2)}x`;
}

function mdTable(head: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const sep = head.map((_, i) => ((align?.[i] ?? 'r') === 'l' ? ':---' : '---:'));
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** More than 10% of the machine's CPU went to something other than the server and the load generator. */
function noisy(run: LoadResult): boolean {
  return run.otherCpuS > 0.1 * os.cpus().length * run.durationS;
}

function resultsTable(reports: TargetReport[]): string {
  const rows: string[][] = [];
  for (const r of reports) {
    for (const run of r.runs) {
      rows.push([
        run.target,
        String(run.connections),
        fmt(run.tokensPerSec),
        fmt(run.p50, 2),
        fmt(run.p99, 2),
        fmt(run.p999, 2),
        fmt(run.errors),
        fmt(run.peakRssMiB, 1),
        fmt(run.cpuS, 2),
        fmt(run.cpuMsPer1k, 1),
        fmt(run.genCpuS, 2),
        `${fmt(run.otherCpuS, 2)}${noisy(run) ? ' (!)' : ''}`,
      ]);
    }
  }
  return mdTable(
    ['target', 'conns', 'tokens/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'peak RSS MiB', 'server CPU s', 'CPU ms/1k tok', 'loadgen CPU s', 'other CPU s'],
    rows,
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

function ratiosTable(reports: TargetReport[]): string | undefined {
  const byName = new Map(reports.map((r) => [r.target.name, r]));
  const rows: string[][] = [];
  for (const pair of RATIO_PAIRS) {
    const num = byName.get(pair.numerator);
    const den = byName.get(pair.denominator);
    if (!num || !den) continue;
    for (const a of num.runs) {
      const b = den.runs.find((x) => x.connections === a.connections);
      if (!b) continue;
      rows.push([
        `${pair.numerator} / ${pair.denominator}`,
        String(a.connections),
        ratio(a.tokensPerSec, b.tokensPerSec),
        ratio(a.p50, b.p50),
        ratio(a.p99, b.p99),
        ratio(a.peakRssMiB, b.peakRssMiB),
        ratio(a.cpuMsPer1k, b.cpuMsPer1k),
      ]);
    }
  }
  if (rows.length === 0) return undefined;
  return mdTable(['pair', 'conns', 'tokens/s', 'p50', 'p99', 'peak RSS', 'CPU per token'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r']);
}

function targetsTable(reports: TargetReport[]): string {
  return mdTable(
    ['target', 'what', 'status', 'startup ms', 'idle RSS MiB'],
    reports.map((r) => [
      r.target.name,
      r.target.description,
      r.status === 'ok' ? 'ok' : `${r.status}: ${(r.reason ?? '').split('\n')[0]?.slice(0, 160) ?? ''}`,
      r.startupMs !== undefined ? fmt(r.startupMs) : '',
      r.idleRssMiB !== undefined ? fmt(r.idleRssMiB, 1) : '',
    ]),
    ['l', 'l', 'l', 'r', 'r'],
  );
}

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v ?? ''}`)
    .sort();
  return [...env, 'npm run bench'].join(' ');
}

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus[0]?.model.trim() ?? 'unknown'} x ${cpus.length} (load generator shares these cores with the server)`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node: ${process.version}`,
  ];
}

function render(reports: TargetReport[], startedAt: Date, elapsedS: number): string {
  const lines: string[] = [];
  lines.push('# Benchmarks', '');
  lines.push(
    `Generated by \`bench/run.ts\` on ${startedAt.toISOString()} (took ${fmt(elapsedS)} s).`,
    '',
    `Command: \`${commandLine()}\``,
    '',
    '## Machine',
    '',
    ...machine(),
    '',
    '## Method',
    '',
    `- Each target runs as its own child process on 127.0.0.1; autocannon (in the driver process) sends keep-alive ` +
      `\`POST /authz/d1/v1/oauth2/token\` with \`Authorization: Basic\` and \`${FORM_BODY}\`, pipelining 1.`,
    `- Per target: ${WARMUP_S} s warm-up at ${Math.max(...CONNECTIONS)} connections, then ${DURATION_S} s per connection count (${CONNECTIONS.join(', ')})` +
      (REPEAT > 1 ? `, ${REPEAT} runs each; each row is the run with the highest tokens/s (errors summed over all runs).` : '.'),
    ...(QUIET_WAIT_S > 0
      ? [`- Before each run the driver waits (up to ${QUIET_WAIT_S} s) for a 1 s window with < ${QUIET_CORES} cores busy machine-wide.`]
      : []),
    '- Before load: one token is fetched and verified (ES256 JWT against the server JWKS, response shape), and a wrong secret must be refused. ' +
      `During load every 2xx body is checked to contain an access token, and ${MAX_SAMPLES} bodies per run, sampled uniformly, are fully verified.`,
    '- tokens/s = 2xx responses / run duration. Latency percentiles are computed from every 2xx response time (hrtime, sub-ms). ' +
      'errors = non-2xx + connection errors + malformed bodies + failed samples.',
    `- Baselines run as ${process.env['BENCH_TSX'] === '1' ? '.ts via `node --import tsx`' : 'plain JS transpiled into bench/.bench-tmp (no tsx loader in the measured process), like d1-authz from dist/'}.`,
    '- peak RSS = sum of VmHWM over the server process tree (cluster workers included), reset before each run via /proc/PID/clear_refs; ' +
      'server CPU s = utime+stime of the tree during the run; loadgen CPU s = the driver process (autocannon) during the run; ' +
      'other CPU s = machine-wide busy CPU (user+system+steal, not irq/softirq) not accounted for by either: noise from anything else running, flagged (!) above 10% of capacity. ' +
      `Capacity is ${os.cpus().length} CPU s per wall second.`,
    '- Ratios are numerator/denominator at equal connection count: for tokens/s higher is better; for latency, RSS and CPU per token lower is better.',
    '',
    '## Targets',
    '',
    targetsTable(reports),
    '',
    '## Results',
    '',
    resultsTable(reports),
    '',
  );
  const ratios = ratiosTable(reports);
  if (ratios !== undefined) lines.push('## Ratios', '', ratios, '');
  const notes: string[] = [];
  for (const r of reports) {
    for (const n of r.notes) notes.push(`- ${r.target.name}: ${n}`);
    for (const run of r.runs) {
      if (run.errorDetail) notes.push(`- ${r.target.name} c=${run.connections}: ${run.errorDetail}`);
      if (run.attempts.length > 1) {
        notes.push(`- ${r.target.name} c=${run.connections}: tokens/s per run ${run.attempts.map((t) => fmt(t)).join(', ')}`);
      }
      if (noisy(run)) {
        notes.push(
          `- ${r.target.name} c=${run.connections}: (!) ${fmt(run.otherCpuS, 2)} CPU s used by other processes during the run; numbers disturbed`,
        );
      }
    }
    if (r.status === 'failed') notes.push(`- ${r.target.name} FAILED: ${(r.reason ?? '').replace(/\n/g, ' ').slice(0, 600)}`);
    if (r.status === 'ok') notes.push(`- ${r.target.name} checks: ${r.checks.join('; ')}`);
  }
  if (notes.length > 0) lines.push('## Notes', '', ...notes, '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const startedAt = new Date();
  if (process.env['BENCH_BUILD'] === '1') {
    log('npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  const selected = ONLY.length > 0 ? TARGETS.filter((t) => ONLY.includes(t.name)) : TARGETS;
  log(
    `targets: ${selected.map((t) => t.name).join(', ')}; connections ${CONNECTIONS.join(',')}; ` +
      `${DURATION_S}s per run, ${WARMUP_S}s warm-up`,
  );
  const reports: TargetReport[] = [];
  for (const t of selected) {
    reports.push(await runTarget(t));
  }
  const elapsedS = (Date.now() - startedAt.getTime()) / 1000;
  const md = render(reports, startedAt, elapsedS);
  process.stdout.write(`\n${md}\n`);
  if (OUT !== '-') {
    writeFileSync(OUT, md);
    log(`wrote ${relative(process.cwd(), OUT) || OUT}`);
  }
  if (reports.some((r) => r.status === 'failed')) process.exitCode = 1;
}

process.on('SIGINT', () => {
  // Children die with us (same process group for an interactive ^C); just stop.
  process.exit(130);
});

await main();
