// Benchmark settings from the environment (see bench/README.md), shared by the driver, the targets
// and the scenarios.

import { isAbsolute, join, resolve } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

function numEnv(name: string, def: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return v;
}

/** Seconds per load run of the main token targets. */
export const DURATION_S = numEnv('BENCH_DURATION', 10);
/** Seconds per load run of the secondary scenarios (scopes, well-known reads, gateway). */
export const SECONDARY_S = numEnv('BENCH_SECONDARY_DURATION', Math.min(5, DURATION_S));
export const WARMUP_S = numEnv('BENCH_WARMUP', Math.min(3, DURATION_S));
export const CONNECTIONS = (process.env['BENCH_CONNECTIONS'] ?? '16,64')
  .split(',')
  .map((s) => Number.parseInt(s.trim(), 10))
  .filter((n) => Number.isInteger(n) && n > 0);
export const ONLY = (process.env['BENCH_ONLY'] ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
export const REPEAT = Math.round(numEnv('BENCH_REPEAT', 1));
export const QUIET_WAIT_S = process.env['BENCH_QUIET_WAIT'] === '0' ? 0 : numEnv('BENCH_QUIET_WAIT', 10);
/** Total seconds all quiet waits of one driver run may take (a busy machine must not blow the time budget). */
export const QUIET_BUDGET_S = process.env['BENCH_QUIET_BUDGET'] === '0' ? 0 : numEnv('BENCH_QUIET_BUDGET', 120);
export const OUT = process.env['BENCH_OUT'] ?? join(ROOT, 'BENCHMARKS.md');
export const LOG_DIR = process.env['BENCH_LOG_DIR'];
export const KEEP = process.env['BENCH_KEEP'] === '1';
/** Registered clients of the d1-authz-10k-clients scenario. */
export const CLIENTS = Math.round(numEnv('BENCH_CLIENTS', 10_000));
/** Seconds per guard micro-benchmark measurement. */
export const GUARD_S = numEnv('BENCH_GUARD_SECONDS', 2);
/** Distinct real tokens fetched for the guard micro-benchmark. */
export const GUARD_TOKENS = Math.round(numEnv('BENCH_GUARD_TOKENS', 5000));

/**
 * The d1-authz build the targets run and the scenarios import (default dist/). Must lie inside the
 * repository so that its bare imports resolve from node_modules (e.g. bench/.bench-tmp/dist, built
 * with `npx tsc -p tsconfig.build.json --outDir bench/.bench-tmp/dist`).
 */
export const DIST_DIR = (() => {
  const raw = process.env['BENCH_DIST'];
  if (raw === undefined || raw === '') return join(ROOT, 'dist');
  return isAbsolute(raw) ? raw : resolve(ROOT, raw);
})();

if (CONNECTIONS.length === 0) throw new Error('BENCH_CONNECTIONS has no valid value');
