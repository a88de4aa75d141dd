// Benchmark driver: `npm run bench` (= node --import tsx bench/run.ts).
//
// Token targets (bench/targets.ts): spawn each server on a free 127.0.0.1 port, wait until ready,
// check one token (valid ES256 JWT against the server's JWKS, response shape, wrong secret refused),
// warm up; then, in rounds over all of them (runTargets), drive each with autocannon (keep-alive) at
// each connection count while sampling the server process tree's CPU time and peak RSS from /proc.
// Then the scenarios (bench/scenarios/:
// well-known reads, guard verification, gateway), each with its own tables. Prints the report and
// writes BENCHMARKS.md.
//
// Env (bench/README.md has the full list):
//   BENCH_ONLY=a,b          run only these targets/scenarios (names from bench/targets.ts, bench/scenarios/)
//   BENCH_DURATION=10       seconds per load run of the main token targets
//   BENCH_SECONDARY_DURATION=5  seconds per run of the secondary scenarios (scopes, well-known, gateway)
//   BENCH_WARMUP=3          seconds of warm-up per target (at the highest connection count)
//   BENCH_CONNECTIONS=16,64 connection counts
//   BENCH_REPEAT=1          load runs per connection count; the table shows the best (highest tokens/s)
//   BENCH_QUIET_WAIT=20     before each run, wait up to this many seconds for the machine to be idle (0 = don't)
//   BENCH_CLIENTS=10000     clients of d1-authz-10k-clients
//   BENCH_GUARD_SECONDS=2   seconds per guard micro-benchmark variant; BENCH_GUARD_TOKENS=5000 distinct tokens
//   BENCH_OUT=path          report path (default BENCHMARKS.md at the repo root; '-' = don't write)
//   BENCH_BUILD=1           run `npm run build` first (d1-authz targets need dist/)
//   BENCH_DIST=dir          d1-authz build to run and import (default dist/; must be inside the repo)
//   BENCH_D1_LOG_LEVEL=info D1AUTHZ_LOG_LEVEL for the d1-authz targets
//   BENCH_LOG_DIR=dir       keep each server's stdout/stderr there (default: stdout discarded)
//   BENCH_KEEP=1            keep the per-target temp directories
//   BENCH_TSX=1             run the baselines as .ts through tsx (default: transpiled to plain JS first)

import { execFileSync } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type autocannon from 'autocannon';

import { makeChecker } from './lib/check.js';
import type { TokenChecker } from './lib/check.js';
import { D1_CLIENT_ID, d1CliPath } from './lib/d1.js';
import { fmt, mdTable, ratio } from './lib/format.js';
import { isNoisy, measuredLoad, QUIET_CORES, runAutocannon, waitQuiet } from './lib/load.js';
import { processTree, rssMiB } from './lib/proc.js';
import { basicAuth, freePort, log, ServerProcess } from './lib/server.js';
import {
  CLIENTS,
  CONNECTIONS,
  DURATION_S,
  GUARD_S,
  KEEP,
  ONLY,
  OUT,
  QUIET_BUDGET_S,
  QUIET_WAIT_S,
  REPEAT,
  ROOT,
  SECONDARY_S,
  WARMUP_S,
} from './lib/settings.js';
import { BENCH_REQUEST_SCOPE } from './lib/shared.js';
import type { Credentials, LaunchSpec, Scenario, ScenarioOutcome, Target, TokenMix } from './lib/types.js';
import { SCENARIOS } from './scenarios/index.js';
import { RATIO_PAIRS, TARGETS } from './targets.js';

/** 2xx bodies kept per run (uniform reservoir sample over the whole run) for full JWT verification. */
const MAX_SAMPLES = 8;
/** autocannon response timeout (s) for the cold pass, where every request waits for a scrypt. */
const COLD_TIMEOUT_S = 120;
/**
 * Seconds of load at the run's connection count before each measured run of a target measured in
 * rounds; its first warm-up is shortened so that, with one run per connection count, its warm-up
 * time in all stays BENCH_WARMUP.
 */
const REWARM_S = Math.min(1, WARMUP_S);
const FIRST_WARMUP_S = Math.max(REWARM_S, WARMUP_S - REWARM_S * CONNECTIONS.length);

const KNOWN = [...TARGETS.map((t) => t.name), ...SCENARIOS.map((s) => s.name)];
for (const name of ONLY) {
  if (!KNOWN.includes(name)) throw new Error(`BENCH_ONLY: unknown target "${name}" (known: ${KNOWN.join(', ')})`);
}

// ---------------------------------------------------------------------------------------------
// Results

interface LoadResult {
  /** Row label: the target name, or `name (variant)`. */
  label: string;
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
  elapsedS?: number;
  mix?: string;
  checks: string[];
  notes: string[];
  runs: LoadResult[];
}

interface ScenarioReport {
  scenario: Scenario;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  elapsedS?: number;
  outcome?: ScenarioOutcome;
}

// ---------------------------------------------------------------------------------------------
// Load

const form = (scope: string): string => `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`;
const FORM_BODY = form(BENCH_REQUEST_SCOPE);

/** Where the next request of a `spread` mix starts (shared by all connections, kept across runs). */
interface SpreadState {
  next: number;
}

interface LoadPlan {
  url: string;
  /** Authorization of the default (non-spread) requests. */
  authorization: string;
  mix: TokenMix | undefined;
  spread: { auths: string[]; state: SpreadState } | undefined;
  connections: number;
  /** Timed run ... */
  durationS?: number;
  /** ... or exactly this many requests. */
  amount?: number;
  timeoutS?: number;
}

interface LoadCounters {
  seen: number;
  malformed: number;
  wrongScope: number;
  samples: string[];
}

/** The autocannon `requests` for a plan; every 2xx body is checked cheaply and reservoir-sampled. */
function tokenRequests(plan: LoadPlan, counters: LoadCounters): autocannon.Request[] {
  const kinds = plan.mix?.sequence ?? [{ body: FORM_BODY }];
  // Each kind is tagged with its own x-correlation-id, which the server echoes: autocannon pairs a
  // response with the request it sent last, and loses that pairing when the server closes a connection
  // (d1-authz does after 1,000 requests), so the echo, not the position, says what was asked.
  const expectById = new Map(kinds.map((kind, i) => [`bench-kind-${i}`, kind.expectScope === undefined ? undefined : `"scope":${JSON.stringify(kind.expectScope)}`]));
  return kinds.map((kind, i) => {
    const tagged = kind.expectScope !== undefined;
    const request: autocannon.Request = {
      method: 'POST',
      headers: { authorization: plan.authorization, 'content-type': 'application/x-www-form-urlencoded', ...(tagged ? { 'x-correlation-id': `bench-kind-${i}` } : {}) },
      body: kind.body,
      onResponse: (status: number, body: string, _context: object, headers: IncomingHttpHeaders | undefined) => {
        if (status < 200 || status > 299) return;
        // Cheap per-response check; full JWT verification on a sample after the run.
        if (!body.includes('"access_token":"ey')) counters.malformed++;
        if (tagged) {
          const id = headers?.['x-correlation-id'];
          const expect = typeof id === 'string' ? expectById.get(id) : undefined;
          if (expect === undefined || !body.includes(expect)) counters.wrongScope++;
        }
        counters.seen++;
        if (counters.samples.length < MAX_SAMPLES) counters.samples.push(body);
        else {
          const j = Math.floor(Math.random() * counters.seen);
          if (j < MAX_SAMPLES) counters.samples[j] = body;
        }
      },
    };
    const spread = plan.spread;
    if (spread) {
      const n = spread.auths.length;
      request.setupRequest = (req) => ({ ...req, headers: { ...req.headers, authorization: spread.auths[spread.state.next++ % n] } });
    }
    return request;
  });
}

function autocannonOptions(plan: LoadPlan, counters: LoadCounters): autocannon.Options {
  return {
    url: plan.url,
    connections: plan.connections,
    ...(plan.amount !== undefined ? { amount: plan.amount } : { duration: plan.durationS ?? DURATION_S }),
    ...(plan.timeoutS !== undefined ? { timeout: plan.timeoutS } : {}),
    requests: tokenRequests(plan, counters),
  };
}

async function warmUp(plan: LoadPlan, durationS?: number): Promise<autocannon.Result> {
  const counters: LoadCounters = { seen: 0, malformed: 0, wrongScope: 0, samples: [] };
  return (await runAutocannon(autocannonOptions(durationS === undefined ? plan : { ...plan, durationS }, counters))).result;
}

const RSS_NOTE = 'peak RSS since process start (clear_refs failed)';

interface Measurement {
  run: LoadResult;
  sampled: number;
  badSamples: number;
  rssResetFailed: boolean;
}

async function measure(label: string, server: ServerProcess, plan: LoadPlan, checker: TokenChecker): Promise<Measurement> {
  const counters: LoadCounters = { seen: 0, malformed: 0, wrongScope: 0, samples: [] };
  const progress = plan.amount !== undefined ? (n: number) => log(`${label}: ${n}/${plan.amount ?? 0} responses`) : undefined;
  const m = await measuredLoad([server.pid], autocannonOptions(plan, counters), progress);
  const dead = server.exitInfo;
  if (dead) throw new Error(`server died during load: ${dead}`);

  let badSamples = 0;
  const sampleProblems: string[] = [];
  for (const s of counters.samples) {
    const p = await checker.check(s);
    if (p !== null) {
      badSamples++;
      sampleProblems.push(p);
    }
  }
  const errors = m.httpErrors + counters.malformed + counters.wrongScope + badSamples;
  const parts = [...m.httpErrorParts];
  if (counters.malformed) parts.push(`malformed bodies ${counters.malformed}`);
  if (counters.wrongScope) parts.push(`wrong scope granted ${counters.wrongScope}`);
  if (badSamples) parts.push(`bad samples ${badSamples}: ${sampleProblems[0] ?? ''}`);
  return {
    run: {
      label,
      connections: plan.connections,
      tokensPerSec: m.rate,
      p50: m.p50,
      p99: m.p99,
      p999: m.p999,
      ok2xx: m.ok2xx,
      errors,
      errorDetail: parts.join('; '),
      peakRssMiB: m.peakRssMiB,
      cpuS: m.cpuS,
      cpuMsPer1k: m.ok2xx > 0 ? (m.cpuS * 1000 * 1000) / m.ok2xx : Number.NaN,
      genCpuS: m.genCpuS,
      otherCpuS: m.otherCpuS,
      processes: m.processes,
      durationS: m.durationS,
      attempts: [],
    },
    sampled: counters.samples.length,
    badSamples,
    rssResetFailed: m.rssResetFailed,
  };
}

// ---------------------------------------------------------------------------------------------
// One target

async function preflight(url: string, spec: LaunchSpec, checker: TokenChecker, creds: Credentials, report: TargetReport): Promise<void> {
  const authorization = basicAuth(creds.clientId, creds.clientSecret);
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
        authorization: basicAuth(creds.clientId, `${creds.clientSecret}x`),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: FORM_BODY,
    });
    await bad.arrayBuffer();
    if (bad.status !== 401 && bad.status !== 400) throw new Error(`wrong secret answered ${bad.status} (want 401)`);
    report.checks.push(`wrong secret refused (${bad.status})`);
  }
}

function logRun(m: Measurement): void {
  const r = m.run;
  log(
    `${r.label} c=${r.connections}: ${r.tokensPerSec.toFixed(0)} tok/s, p99 ${r.p99.toFixed(2)} ms, ` +
      `errors ${r.errors}, RSS ${r.peakRssMiB.toFixed(1)} MiB, CPU ${r.cpuS.toFixed(2)} s, other CPU ${r.otherCpuS.toFixed(2)} s`,
  );
}

/** One measured series of a live target: its row label and the plan of a run at a connection count. */
interface Series {
  label: string;
  planFor: (connections: number) => LoadPlan;
  /** Attempts so far, by connection count. */
  attempts: Map<number, Measurement[]>;
}

/** A target started, checked and warmed up, waiting for its measured runs. */
interface LiveTarget {
  report: TargetReport;
  server: ServerProcess;
  checker: TokenChecker;
  durationS: number;
  series: Series[];
  workDir: string;
  /** Wall time spent on this target's own steps (its "took s"; other targets run in between). */
  busyMs: number;
  /** Its runs cannot wait for other targets' runs in between (see openTarget). */
  alone: boolean;
}

/**
 * Starts a target, checks one token, runs its cold pass if it has one, and warms it up. Returns the
 * finished report instead when it is skipped or fails on the way.
 */
async function openTarget(target: Target): Promise<LiveTarget | TargetReport> {
  const started = Date.now();
  const report: TargetReport = { target, status: 'ok', checks: [], notes: [], runs: [] };
  const skip = target.unavailable ? await target.unavailable() : null;
  if (skip !== null) {
    log(`${target.name}: skipped (${skip})`);
    return { ...report, status: 'skipped', reason: skip };
  }

  const workDir = mkdtempSync(join(os.tmpdir(), `d1-bench-${target.name}-`));
  let server: ServerProcess | undefined;
  const durationS = target.durationS ?? DURATION_S;
  try {
    const port = await freePort();
    const secret = randomBytes(32).toString('base64url'); // 43 chars
    log(`${target.name}: preparing (port ${port})`);
    const spec = await target.prepare({ port, workDir, secret, clientId: D1_CLIENT_ID });
    report.notes.push(...spec.notes);
    report.mix = spec.mix?.describe;
    const base = `http://127.0.0.1:${port}`;

    const t0 = Date.now();
    server = new ServerProcess(target.name, spec);
    await server.waitReady(`${base}${spec.readyPath}`);
    report.startupMs = Date.now() - t0;
    await sleep(300);
    report.idleRssMiB = rssMiB(processTree(server.pid));
    log(`${target.name}: ready in ${report.startupMs} ms, idle RSS ${report.idleRssMiB.toFixed(1)} MiB`);

    // Pre-flight: one token, verified; wrong secret refused. (For a spread mix: with the template
    // client, so that every spread client is still cold.)
    const url = `${base}${spec.tokenPath}`;
    const checker = await makeChecker(await spec.jwksUrl(base), spec.shape);
    await preflight(url, spec, checker, spec.credentials, report);

    const spreadCreds = spec.mix?.spread;
    const spreadState =
      spreadCreds !== undefined && spreadCreds.length > 0
        ? { auths: spreadCreds.map((c) => basicAuth(c.clientId, c.clientSecret)), state: { next: 0 } }
        : undefined;
    const plan = (connections: number, extra: Partial<LoadPlan> = {}): LoadPlan => ({
      url,
      authorization: basicAuth(spec.credentials.clientId, spec.credentials.clientSecret),
      mix: spec.mix,
      spread: spreadState,
      connections,
      durationS,
      ...extra,
    });
    const coldPass = spec.mix?.coldPass === true && spreadState !== undefined;
    const variant = coldPass ? ' (warm)' : '';

    if (coldPass && spreadState) {
      // Each client's first request: one scrypt per client. Fewest connections: the hash pool is
      // saturated either way, and fewer requests queue behind it (latency stays under the timeout).
      const n = spreadState.auths.length;
      const connections = Math.min(...CONNECTIONS, n);
      await waitQuiet(target.name);
      log(`${target.name}: cold pass, ${n} requests (one per client) at ${connections} connections`);
      const m = await measure(`${target.name} (cold)`, server, plan(connections, { amount: n, timeoutS: COLD_TIMEOUT_S }), checker);
      if (m.rssResetFailed && !report.notes.includes(RSS_NOTE)) report.notes.push(RSS_NOTE);
      logRun(m);
      report.checks.push(`cold pass: ${m.sampled - m.badSamples}/${m.sampled} sampled tokens verified`);
      report.notes.push(
        `cold pass: ${n} requests, one per client (each client's secret verified with scrypt for the first time), ` +
          `took ${fmt(m.run.durationS, 1)} s = ${fmt(m.run.tokensPerSec, 1)} tokens/s`,
      );
      report.runs.push({ ...m.run, attempts: [m.run.tokensPerSec] });
      if (m.run.ok2xx === 0) throw new Error(`cold pass got no 2xx (${m.run.errorDetail})`);
      const ttl = spec.mix?.credentialCacheTtlS;
      if (ttl !== undefined && m.run.durationS + WARMUP_S + 2 * durationS > ttl) {
        report.notes.push(
          `WARNING: the cold pass took ${fmt(m.run.durationS)} s, near or beyond the ${ttl} s credential cache TTL: ` +
            'the first clients\' verifications expire before or during the warm runs, which are then partly cold',
        );
      }
    }

    const maxConn = Math.max(...CONNECTIONS);
    const warmupS = coldPass ? WARMUP_S : FIRST_WARMUP_S;
    log(`${target.name}: warm-up ${warmupS}s x ${maxConn} connections`);
    const warm = await warmUp(plan(maxConn, { durationS: warmupS }));
    if (warm['2xx'] === 0) throw new Error(`warm-up got no 2xx (non2xx ${warm.non2xx}, errors ${warm.errors})`);

    const series: Series[] = [{ label: `${target.name}${variant}`, planFor: (connections) => plan(connections), attempts: new Map() }];
    if (coldPass && spreadState) {
      // The same server and the same load generator path (a per-request Authorization swap, which costs
      // the generator CPU on these shared cores), with one client: what the 10,000 are compared with.
      const one = { auths: [spreadState.auths[0]!], state: { next: 0 } };
      series.push({ label: `${target.name} (one client)`, planFor: (connections) => plan(connections, { spread: one }), attempts: new Map() });
    }
    // A cold-pass target's warm runs must follow its cold pass before the verified credentials it
    // measures expire, so it is measured on its own, not between the others.
    return { report, server, checker, durationS, series, workDir, busyMs: Date.now() - started, alone: coldPass };
  } catch (err) {
    const msg = (err as Error).message;
    log(`${target.name}: FAILED: ${msg}`);
    if (server) await server.stop();
    if (!KEEP) rmSync(workDir, { recursive: true, force: true });
    return { ...report, status: 'failed', reason: msg, elapsedS: (Date.now() - started) / 1000 };
  }
}

/**
 * One measured run of one series at one connection count. A target measured in rounds has sat idle
 * while the others ran, so it gets a short warm-up first: the run measures a server under steady
 * load, as D1's traffic keeps it, not one waking up.
 */
async function attempt(live: LiveTarget, series: Series, connections: number, i: number): Promise<void> {
  const started = Date.now();
  const name = live.report.target.name;
  if (!live.alone) {
    const warm = await warmUp(series.planFor(connections), REWARM_S);
    if (warm['2xx'] === 0) throw new Error(`warm-up before the run got no 2xx (non2xx ${warm.non2xx}, errors ${warm.errors})`);
  }
  await sleep(200);
  await waitQuiet(name);
  log(`${series.label}: ${connections} connections x ${live.durationS}s${REPEAT > 1 ? ` (run ${i + 1}/${REPEAT})` : ''}`);
  const m = await measure(series.label, live.server, series.planFor(connections), live.checker);
  if (m.rssResetFailed && !live.report.notes.includes(RSS_NOTE)) live.report.notes.push(RSS_NOTE);
  logRun(m);
  const list = series.attempts.get(connections) ?? [];
  list.push(m);
  series.attempts.set(connections, list);
  live.busyMs += Date.now() - started;
}

/** Rows and checks from the attempts; stops the server. */
async function closeTarget(live: LiveTarget, failure?: Error): Promise<TargetReport> {
  const { report } = live;
  const name = report.target.name;
  for (const series of live.series) {
    for (const connections of CONNECTIONS) {
      const attempts = series.attempts.get(connections) ?? [];
      if (attempts.length === 0) continue;
      const sampled = attempts.reduce((n, a) => n + a.sampled, 0);
      const verified = attempts.reduce((n, a) => n + a.sampled - a.badSamples, 0);
      report.checks.push(`${series.label === name ? '' : `${series.label.slice(name.length + 1)} `}${connections} conns: ${verified}/${sampled} sampled tokens verified`);
      // Best of REPEAT by throughput (least disturbed); errors are summed over all attempts.
      const best = attempts.map((a) => a.run).reduce((a, b) => (b.tokensPerSec > a.tokensPerSec ? b : a));
      report.runs.push({
        ...best,
        errors: attempts.reduce((n, a) => n + a.run.errors, 0),
        errorDetail: attempts.map((a) => a.run.errorDetail).filter((d) => d !== '').join(' | '),
        attempts: attempts.map((a) => a.run.tokensPerSec),
      });
    }
  }
  const procs = new Set(report.runs.map((r) => r.processes));
  if (procs.size > 0) report.notes.push(`server processes during load: ${[...procs].join(', ')}`);
  if (failure) {
    log(`${name}: FAILED: ${failure.message}`);
    report.status = 'failed';
    report.reason = failure.message;
  }
  const stopping = Date.now();
  await live.server.stop();
  if (!KEEP) rmSync(live.workDir, { recursive: true, force: true });
  else report.notes.push(`work dir kept: ${live.workDir}`);
  report.elapsedS = (live.busyMs + Date.now() - stopping) / 1000;
  return report;
}

/**
 * Measures the token targets in rounds: at each connection count, each attempt runs every live
 * target once in turn, so the two sides of a ratio are measured seconds apart, not minutes. On a
 * shared host whose speed drifts during a run (seen: a third slower ten minutes later, with no steal
 * showing), measuring one target after the other put the drift into every ratio against the
 * baselines, which ran first. Targets that must run alone (see openTarget) are measured as they open.
 */
async function runTargets(targets: Target[], optedOut: (t: Target) => string | undefined): Promise<TargetReport[]> {
  const reports = new Map<Target, TargetReport>();
  const live: LiveTarget[] = [];
  for (const t of targets) {
    const reason = optedOut(t);
    if (reason !== undefined) {
      log(`${t.name}: skipped (${reason})`);
      reports.set(t, { target: t, status: 'skipped', reason, checks: [], notes: [], runs: [] });
      continue;
    }
    const opened = await openTarget(t);
    if (!('server' in opened)) {
      reports.set(t, opened);
      continue;
    }
    if (!opened.alone) {
      live.push(opened);
      continue;
    }
    let failure: Error | undefined;
    try {
      for (const series of opened.series) for (const c of CONNECTIONS) for (let i = 0; i < REPEAT; i++) await attempt(opened, series, c, i);
    } catch (err) {
      failure = err as Error;
    }
    reports.set(t, await closeTarget(opened, failure));
  }
  const failures = new Map<LiveTarget, Error>();
  try {
    for (const connections of CONNECTIONS) {
      for (let i = 0; i < REPEAT; i++) {
        for (const l of live) {
          if (failures.has(l)) continue;
          try {
            for (const series of l.series) await attempt(l, series, connections, i);
          } catch (err) {
            failures.set(l, err as Error);
          }
        }
      }
    }
  } finally {
    for (const l of live) reports.set(l.report.target, await closeTarget(l, failures.get(l)));
  }
  return targets.map((t) => reports.get(t)!);
}

async function runScenario(scenario: Scenario): Promise<ScenarioReport> {
  const started = Date.now();
  const skip = scenario.unavailable ? await scenario.unavailable() : null;
  if (skip !== null) {
    log(`${scenario.name}: skipped (${skip})`);
    return { scenario, status: 'skipped', reason: skip };
  }
  log(`${scenario.name}: starting`);
  try {
    const outcome = await scenario.run();
    return { scenario, status: 'ok', outcome, elapsedS: (Date.now() - started) / 1000 };
  } catch (err) {
    const msg = (err as Error).message;
    log(`${scenario.name}: FAILED: ${msg}`);
    return { scenario, status: 'failed', reason: msg, elapsedS: (Date.now() - started) / 1000 };
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function noisy(run: LoadResult): boolean {
  return isNoisy(run.otherCpuS, run.durationS);
}

function resultsTable(reports: TargetReport[]): string {
  const rows: string[][] = [];
  for (const r of reports) {
    for (const run of r.runs) {
      rows.push([
        run.label,
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
  const runs = reports.flatMap((r) => r.runs);
  const rows: string[][] = [];
  for (const pair of RATIO_PAIRS) {
    for (const a of runs.filter((x) => x.label === pair.numerator)) {
      const b = runs.find((x) => x.label === pair.denominator && x.connections === a.connections);
      if (!b) continue;
      rows.push([
        `${pair.numerator} / ${pair.denominator}`,
        String(a.connections),
        ratio(a.tokensPerSec, b.tokensPerSec),
        ratio(a.p50, b.p50),
        ratio(a.p99, b.p99),
        ratio(a.peakRssMiB, b.peakRssMiB),
        ratio(a.cpuMsPer1k, b.cpuMsPer1k),
        (pair.goals ?? [])
          .filter((g) => g.connections === undefined || g.connections === a.connections)
          .map((g) => `${g.text}: ${g.met(a, b) ? 'met' : 'MISSED'}`)
          .join('; '),
      ]);
    }
  }
  if (rows.length === 0) return undefined;
  return mdTable(['pair', 'conns', 'tokens/s', 'p50', 'p99', 'peak RSS', 'CPU per token', 'goal'], rows, ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l']);
}

function statusCell(status: 'ok' | 'skipped' | 'failed', reason: string | undefined): string {
  return status === 'ok' ? 'ok' : `${status}: ${(reason ?? '').split('\n')[0]?.slice(0, 160) ?? ''}`;
}

function targetsTable(reports: TargetReport[], scenarios: ScenarioReport[]): string {
  return mdTable(
    ['target', 'what', 'status', 'startup ms', 'idle RSS MiB', 'took s'],
    [
      ...reports.map((r) => [
        r.target.name,
        r.target.description,
        statusCell(r.status, r.reason),
        r.startupMs !== undefined ? fmt(r.startupMs) : '',
        r.idleRssMiB !== undefined ? fmt(r.idleRssMiB, 1) : '',
        r.elapsedS !== undefined ? fmt(r.elapsedS) : '',
      ]),
      ...scenarios.map((s) => [
        s.scenario.name,
        s.scenario.description,
        statusCell(s.status, s.reason),
        '',
        '',
        s.elapsedS !== undefined ? fmt(s.elapsedS) : '',
      ]),
    ],
    ['l', 'l', 'l', 'r', 'r', 'r'],
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

function render(reports: TargetReport[], scenarios: ScenarioReport[], startedAt: Date, elapsedS: number): string {
  const lines: string[] = [];
  const secondary = reports.some((r) => r.target.durationS !== undefined && r.target.durationS !== DURATION_S);
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
      `\`POST /authz/d1/v1/oauth2/token\` with \`Authorization: Basic\` and \`${FORM_BODY}\`, pipelining 1 ` +
      '(d1-authz-scopes and d1-authz-10k-clients vary the requests: see Load shapes).',
    `- d1-authz runs \`${relative(ROOT, d1CliPath())}\` (the installed \`d1-authz\` command) with its defaults (no D1AUTHZ_* of the calling shell; client secrets hashed by \`client create\` at the default scrypt cost), on a temp SQLite store.`,
    `- Per target: ${FIRST_WARMUP_S} s warm-up at ${Math.max(...CONNECTIONS)} connections (${WARMUP_S} s for a target measured on its own), then ${DURATION_S} s per connection count (${CONNECTIONS.join(', ')})` +
      (secondary ? ` (${SECONDARY_S} s for the secondary targets)` : '') +
      (REPEAT > 1 ? `, ${REPEAT} runs each; each row is the run with the highest tokens/s (errors summed over all runs).` : '.'),
    '- All targets are started and warmed up first, then measured in rounds: at each connection count every target runs once in turn ' +
      `(after ${REWARM_S} s of load at that connection count, not measured, since it sat idle while the others ran), ` +
      'so the two sides of a ratio are measured seconds apart and a drift of the host during the run reaches both alike ' +
      '(a target with a cold pass, d1-authz-10k-clients, runs on its own right after it). Idle targets stay up meanwhile; what they use shows in other CPU s.',
    ...(QUIET_WAIT_S > 0
      ? [
          `- Before each run the driver waits (up to ${QUIET_WAIT_S} s, at most ${QUIET_BUDGET_S} s in all) for a 1 s window with < ${QUIET_CORES} cores busy machine-wide.`,
        ]
      : []),
    '- Before load: one token is fetched and verified (ES256 JWT against the server JWKS, response shape), and a wrong secret must be refused. ' +
      `During load every 2xx body is checked to contain an access token (and, for d1-authz-scopes, exactly the requested scope), and ${MAX_SAMPLES} bodies per run, sampled uniformly, are fully verified.`,
    '- tokens/s = 2xx responses / run duration. Latency percentiles are computed from every 2xx response time (hrtime, sub-ms). ' +
      'errors = non-2xx + connection errors + malformed bodies + wrong scopes + failed samples.',
    `- Baselines run as ${process.env['BENCH_TSX'] === '1' ? '.ts via `node --import tsx`' : 'plain JS transpiled into bench/.bench-tmp (no tsx loader in the measured process), like d1-authz from dist/'}.`,
    '- peak RSS = sum of VmHWM over the server process tree (cluster workers included), reset before each run via /proc/PID/clear_refs; ' +
      'server CPU s = utime+stime of the tree during the run; loadgen CPU s = the driver process (autocannon) during the run; ' +
      'other CPU s = machine-wide busy CPU (user+system+steal, not irq/softirq) not accounted for by either: noise from anything else running, flagged (!) above 10% of capacity. ' +
      `Capacity is ${os.cpus().length} CPU s per wall second.`,
    '- Ratios are numerator/denominator at equal connection count: for tokens/s higher is better; for latency, RSS and CPU per token lower is better.',
    '',
    '## Targets',
    '',
    targetsTable(reports, scenarios),
    '',
  );
  const mixes = reports.filter((r) => r.mix !== undefined);
  if (mixes.length > 0) {
    lines.push('## Load shapes', '');
    for (const r of mixes) lines.push(`- ${r.target.name}: ${r.mix ?? ''}`);
    if (mixes.some((r) => r.runs.some((x) => x.label.endsWith('(cold)')))) {
      lines.push(
        `- \`(cold)\`: exactly one request per client (each pays one scrypt verification of its secret, at the lowest connection count, timeout ${COLD_TIMEOUT_S} s), ` +
          'then the warm-up and the `(warm)` runs, in which every client has been verified once already (credential cache hit).',
      );
    }
    lines.push('');
  }
  if (reports.some((r) => r.runs.length > 0)) lines.push('## Results', '', resultsTable(reports), '');
  const ratios = ratiosTable(reports);
  if (ratios !== undefined) {
    lines.push('## Ratios', '', ratios, '');
    if (ratios.includes('MISSED')) {
      lines.push('A goal marked MISSED: by how much is in the row; what the profiles and per-thread CPU counts say stands in the way is in [docs/performance.md](docs/performance.md).', '');
    }
  }
  for (const s of scenarios) {
    for (const section of s.outcome?.sections ?? []) {
      lines.push(`## ${section.title}`, '');
      if (section.intro) lines.push(section.intro, '');
      lines.push(section.table, '');
    }
  }
  const notes: string[] = [];
  for (const r of reports) {
    for (const n of r.notes) notes.push(`- ${r.target.name}: ${n}`);
    for (const run of r.runs) {
      if (run.errorDetail) notes.push(`- ${run.label} c=${run.connections}: ${run.errorDetail}`);
      if (run.attempts.length > 1) {
        notes.push(`- ${run.label} c=${run.connections}: tokens/s per run ${run.attempts.map((t) => fmt(t)).join(', ')}`);
      }
      if (noisy(run)) {
        notes.push(`- ${run.label} c=${run.connections}: (!) ${fmt(run.otherCpuS, 2)} CPU s used by other processes during the run; numbers disturbed`);
      }
    }
    if (r.status === 'failed') notes.push(`- ${r.target.name} FAILED: ${(r.reason ?? '').replace(/\n/g, ' ').slice(0, 600)}`);
    if (r.status === 'skipped') notes.push(`- ${r.target.name} skipped: ${r.reason ?? ''}`);
    if (r.status === 'ok') notes.push(`- ${r.target.name} checks: ${r.checks.join('; ')}`);
  }
  for (const s of scenarios) {
    for (const n of s.outcome?.notes ?? []) notes.push(`- ${s.scenario.name}: ${n}`);
    if (s.status === 'failed') notes.push(`- ${s.scenario.name} FAILED: ${(s.reason ?? '').replace(/\n/g, ' ').slice(0, 600)}`);
    if (s.status === 'skipped') notes.push(`- ${s.scenario.name} skipped: ${s.reason ?? ''}`);
    if (s.status === 'ok') notes.push(`- ${s.scenario.name} checks: ${(s.outcome?.checks ?? []).join('; ')}`);
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
  // BENCH_ONLY picks by name; without it, everything but the opt-in entries (listed as skipped).
  const pick = <T extends { name: string; optIn?: string }>(all: T[]): T[] =>
    ONLY.length > 0 ? all.filter((t) => ONLY.includes(t.name)) : all;
  const optedOut = (t: { optIn?: string }): string | undefined =>
    ONLY.length === 0 && t.optIn !== undefined ? `opt-in: ${t.optIn}` : undefined;
  const targets = pick(TARGETS);
  const scenarios = pick(SCENARIOS);
  log(
    `targets: ${[...targets, ...scenarios].map((t) => t.name).join(', ')}; connections ${CONNECTIONS.join(',')}; ` +
      `${DURATION_S}s per run (${SECONDARY_S}s secondary, guard ${GUARD_S}s), ${WARMUP_S}s warm-up, ${CLIENTS} clients`,
  );
  const reports = await runTargets(targets, optedOut);
  const scenarioReports: ScenarioReport[] = [];
  for (const s of scenarios) {
    const reason = optedOut(s);
    if (reason !== undefined) {
      log(`${s.name}: skipped (${reason})`);
      scenarioReports.push({ scenario: s, status: 'skipped', reason });
    } else scenarioReports.push(await runScenario(s));
  }
  const elapsedS = (Date.now() - startedAt.getTime()) / 1000;
  const md = render(reports, scenarioReports, startedAt, elapsedS);
  process.stdout.write(`\n${md}\n`);
  if (OUT !== '-') {
    writeFileSync(OUT, md + keptSections(OUT));
    log(`wrote ${relative(process.cwd(), OUT) || OUT}`);
  }
  if ([...reports, ...scenarioReports].some((r) => r.status === 'failed')) process.exitCode = 1;
}

/** Sections measured by other commands (`npm run soak`, bench/flood-first-contact.ts), pasted by hand: they survive a new bench report. */
const KEPT_SECTIONS = ['Soak', 'First contact under a flood'];

function keptSections(path: string): string {
  if (!existsSync(path)) return '';
  const old = readFileSync(path, 'utf8');
  let kept = '';
  for (const title of KEPT_SECTIONS) {
    const start = old.indexOf(`\n## ${title}\n`);
    if (start < 0) continue;
    const next = old.indexOf('\n## ', start + 1);
    kept += '\n' + old.slice(start + 1, next < 0 ? undefined : next).trimEnd() + '\n';
  }
  return kept;
}

process.on('SIGINT', () => {
  // Children die with us (same process group for an interactive ^C); just stop.
  process.exit(130);
});

await main();
