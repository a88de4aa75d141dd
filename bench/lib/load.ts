// autocannon runs with per-response latency capture, and the /proc accounting around them
// (server tree CPU and peak RSS, load generator CPU, CPU used by anything else on the machine).

import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import autocannon from 'autocannon';

import { cpuSecondsBetween, cpuTicks, machineBusySeconds, peakRssMiB, processTree, resetPeakRss } from './proc.js';
import { QUIET_BUDGET_S, QUIET_WAIT_S } from './settings.js';
import { log } from './server.js';

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? Number.NaN;
}

export interface AutocannonRun {
  result: autocannon.Result;
  /** 2xx latencies in ms, sorted ascending (autocannon's own histogram has 1 ms resolution). */
  latencies: Float64Array;
}

/** The parts of autocannon's per-connection client that forgetOnReconnect touches (lib/httpClient.js). */
interface AutocannonClient {
  _connect(): void;
  pipelinedRequests: { clear(): void };
  /** An http-parser-js HTTPParser; its class holds the RESPONSE type. */
  parser: { initialize(type: unknown): void; constructor: { RESPONSE: unknown } };
}

/**
 * autocannon 8 reconnects when the server closes a connection (d1-authz does after 1,000 requests on
 * one, with `Connection: close`; a killed worker's connections reset) but keeps the requests it still
 * counted as in flight, one of them written to the closing socket and never answered. Each later
 * response is then timed from that stale request's start: after k closes a connection's latencies are
 * k request times too long, more than the run's length allows (a closed loop: the latencies of one
 * connection never overlap). A new connection starts with nothing in flight and a parser at the start
 * of a response.
 */
function forgetOnReconnect(client: unknown): void {
  const c = client as AutocannonClient;
  const connect = c._connect.bind(c);
  c._connect = () => {
    c.pipelinedRequests.clear();
    c.parser.initialize(c.parser.constructor.RESPONSE);
    connect();
  };
}

/**
 * One autocannon run (keep-alive, pipelining 1). `progress`: called every 30 s with the number of
 * responses so far (long runs, e.g. a cold pass, show they are alive).
 */
export function runAutocannon(opts: autocannon.Options, progress?: (responses: number) => void): Promise<AutocannonRun> {
  let lat = new Float64Array(1 << 16);
  let nLat = 0;
  let responses = 0;
  return new Promise((resolve, reject) => {
    const timer = progress ? setInterval(() => progress(responses), 30_000) : undefined;
    const instance = autocannon({ pipelining: 1, ...opts, setupClient: forgetOnReconnect }, (err: unknown, result: autocannon.Result) => {
      if (timer) clearInterval(timer);
      if (err) reject(err instanceof Error ? err : new Error('load run failed', { cause: err }));
      else resolve({ result, latencies: lat.subarray(0, nLat).sort() });
    });
    instance.on('response', (_client, status, _bytes, responseTime) => {
      responses++;
      if (status < 200 || status > 299) return;
      if (nLat === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[nLat++] = responseTime;
    });
  });
}

/** Busy CPU (cores) of the whole machine must stay under this for a 1 s window to call it quiet. */
export const QUIET_CORES = 0.25;

let quietSpentMs = 0;

/**
 * Wait (up to BENCH_QUIET_WAIT s) for a quiet 1 s window; an idle server under test barely
 * registers. Time spent waiting beyond the first window counts against BENCH_QUIET_BUDGET for the
 * whole driver run, so a machine that stays busy cannot blow the time budget.
 */
export async function waitQuiet(name: string): Promise<void> {
  if (QUIET_WAIT_S <= 0) return;
  const deadline = Date.now() + QUIET_WAIT_S * 1000;
  for (let window = 0; ; window++) {
    const before = machineBusySeconds();
    await sleep(1000);
    if (window > 0) quietSpentMs += 1000;
    const cores = machineBusySeconds() - before;
    if (!(cores >= QUIET_CORES)) return; // also returns on NaN (no /proc/stat)
    if (Date.now() >= deadline || quietSpentMs >= QUIET_BUDGET_S * 1000) {
      log(`${name}: machine still busy (${cores.toFixed(2)} cores), running anyway`);
      return;
    }
    if (window === 0) {
      log(`${name}: machine busy (${cores.toFixed(2)} cores used by others), waiting up to ${QUIET_WAIT_S}s`);
    }
  }
}

export interface MeasuredRun extends AutocannonRun {
  durationS: number;
  ok2xx: number;
  /** 2xx per second. */
  rate: number;
  p50: number;
  p99: number;
  p999: number;
  /** non-2xx + connection errors. */
  httpErrors: number;
  /** e.g. "non-2xx 3 (503x3); conn errors 1 (timeouts 1)" */
  httpErrorParts: string[];
  peakRssMiB: number;
  cpuS: number;
  genCpuS: number;
  otherCpuS: number;
  processes: number;
  rssResetFailed: boolean;
}

/**
 * An autocannon run while accounting CPU and peak RSS of the process trees under `roots` (the
 * server, or gateway + upstream), CPU of this process (the load generator) and of everything else.
 */
export async function measuredLoad(
  roots: readonly number[],
  opts: autocannon.Options,
  progress?: (responses: number) => void,
): Promise<MeasuredRun> {
  const treeOf = (): number[] => [...new Set(roots.flatMap((r) => processTree(r)))];
  const treeBefore = treeOf();
  const rssResetFailed = !resetPeakRss(treeBefore);
  const cpuBefore = cpuTicks(treeBefore);
  const genBefore = process.cpuUsage();
  const busyBefore = machineBusySeconds();
  const run = await runAutocannon(opts, progress);
  const gen = process.cpuUsage(genBefore);
  const genCpuS = (gen.user + gen.system) / 1e6;
  const busy = machineBusySeconds() - busyBefore;
  const treeAfter = treeOf();
  const cpuS = cpuSecondsBetween(cpuBefore, cpuTicks(treeAfter));
  const { result, latencies } = run;
  const durationS = result.duration > 0 ? result.duration : (opts.duration as number | undefined) ?? Number.NaN;
  const parts: string[] = [];
  if (result.non2xx) {
    const codes = Object.entries(result.statusCodeStats ?? {})
      .filter(([code]) => !code.startsWith('2'))
      .map(([code, v]) => `${code}x${v.count ?? 0}`)
      .join(' ');
    parts.push(`non-2xx ${result.non2xx}${codes ? ` (${codes})` : ''}`);
  }
  if (result.errors) parts.push(`conn errors ${result.errors} (timeouts ${result.timeouts})`);
  return {
    ...run,
    durationS,
    ok2xx: result['2xx'],
    rate: result['2xx'] / durationS,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    httpErrors: result.non2xx + result.errors,
    httpErrorParts: parts,
    peakRssMiB: peakRssMiB(treeAfter),
    cpuS,
    genCpuS,
    otherCpuS: Math.max(0, busy - cpuS - genCpuS),
    processes: treeAfter.length,
    rssResetFailed,
  };
}

/** More than 10% of the machine's CPU went to something other than the measured processes and the load generator. */
export function isNoisy(otherCpuS: number, durationS: number): boolean {
  return otherCpuS > 0.1 * os.cpus().length * durationS;
}
