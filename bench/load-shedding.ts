// Load shedding figure: p99 of the token requests that are served, at the sustainable load and at
// 4x it, with D1AUTHZ_MAX_IN_FLIGHT on (and, for comparison, off). The sustainable load is taken as
// as many connections as the bound: every admitted request has a slot, the process is saturated.
//
//   node --import tsx bench/load-shedding.ts
//   BENCH_MAX_IN_FLIGHT=128 BENCH_SHED_SECONDS=10 node --import tsx bench/load-shedding.ts
//
// Runs `serve --workers 1` from the sources (tsx) on a temp SQLite store, autocannon in this process.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { percentile, runAutocannon } from './lib/load.js';
import { freePort } from './lib/server.js';
import { ROOT } from './lib/settings.js';

const execFileP = promisify(execFile);
const BOUND = Number(process.env.BENCH_MAX_IN_FLIGHT ?? 32);
const SECONDS = Number(process.env.BENCH_SHED_SECONDS ?? 8);
const CLI = [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/bin.cts')];

async function withServer<T>(maxInFlight: number, run: (origin: string, auth: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(os.tmpdir(), 'd1authz-shed-'));
  const port = await freePort();
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('D1AUTHZ_')));
  const env = {
    ...inherited,
    NODE_ENV: 'production',
    D1AUTHZ_DATABASE_URL: `sqlite:${join(dir, 'd1.sqlite')}`,
    D1AUTHZ_HOST: '127.0.0.1',
    D1AUTHZ_PORT: String(port),
    D1AUTHZ_LOG_LEVEL: 'warn',
    D1AUTHZ_MAX_IN_FLIGHT: String(maxInFlight),
    // All load comes from 127.0.0.1: let it hold every connection of the 4x run.
    D1AUTHZ_MAX_CONNECTIONS_PER_ADDRESS: '768',
  };
  const secret = randomBytes(32).toString('base64url');
  await execFileP(CLI[0]!, [...CLI.slice(1), 'migrate'], { env, cwd: ROOT });
  await execFileP(CLI[0]!, [...CLI.slice(1), 'client', 'create', 'bench', '--secret', secret, '--json'], { env, cwd: ROOT });
  const child = spawn(CLI[0]!, [...CLI.slice(1), 'serve', '--workers', '1'], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const origin = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`${origin}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 600) throw new Error('serve did not start within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    return await run(origin, 'Basic ' + Buffer.from(`bench:${secret}`).toString('base64'));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  label: string;
  connections: number;
  served: number;
  shed: number;
  p50: number;
  p99: number;
}

async function measure(origin: string, auth: string, connections: number, label: string): Promise<Row> {
  const opts = {
    url: `${origin}/authz/d1/v1/oauth2/token`,
    method: 'POST' as const,
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
    connections,
  };
  await runAutocannon({ ...opts, duration: 2 }); // warm-up (the secret's slow hash, JIT)
  const { result, latencies } = await runAutocannon({ ...opts, duration: SECONDS });
  const shed = result.statusCodeStats?.['503']?.count ?? 0;
  return { label, connections, served: latencies.length / SECONDS, shed: Number(shed) / SECONDS, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const rows: Row[] = [];
await withServer(BOUND, async (origin, auth) => {
  rows.push(await measure(origin, auth, BOUND, `sustainable (${BOUND} connections = the bound)`));
  rows.push(await measure(origin, auth, 4 * BOUND, `4x, shedding on (D1AUTHZ_MAX_IN_FLIGHT=${BOUND})`));
});
await withServer(100_000, async (origin, auth) => {
  rows.push(await measure(origin, auth, 4 * BOUND, '4x, shedding off (for comparison)'));
});

const f = (n: number) => n.toFixed(2);
console.log(`\n| load | connections | served tokens/s | shed 503/s | p50 served (ms) | p99 served (ms) |`);
console.log(`|---|---|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.label} | ${r.connections} | ${Math.round(r.served)} | ${Math.round(r.shed)} | ${f(r.p50)} | ${f(r.p99)} |`);
const ratio = rows[1]!.p99 / rows[0]!.p99;
console.log(`\np99 of served requests at 4x / at the sustainable load: ${ratio.toFixed(2)}x (goal <= 2x) ${ratio <= 2 ? 'OK' : 'MISSED'}`);
console.log(`without shedding: ${(rows[2]!.p99 / rows[0]!.p99).toFixed(2)}x; machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`);
