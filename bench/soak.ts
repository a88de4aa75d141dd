// Soak: `npm run soak -- --seconds 60 [--workers 2] [--connections 16]` (not part of npm test).
//
// Steady load on the token endpoint of a d1-authz built in dist/ (`npm run build`), driven through
// its CLI like an operator would, while, at a quarter of the time, a signing key is rotated (and
// made active at once with --force, so tokens are signed by the new key before the end); at half,
// the client's secret is rotated with a grace period (the load keeps the old secret, which must keep
// working); at three quarters, under --workers >= 2, one worker is killed with SIGKILL (the primary
// replaces it). Reports valid requests sent, failed, p99, and the server's RSS at start and end.
//
// A request in flight on the killed worker may fail once (its connection is reset): those show as
// connection errors, counted apart from HTTP failures.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import { d1Cli, d1CliPath, D1_CLIENT_ID, d1Unavailable, prepareD1 } from './lib/d1.js';
import { percentile, runAutocannon } from './lib/load.js';
import { processTree, rssMiB } from './lib/proc.js';
import { basicAuth, freePort, log, ServerProcess } from './lib/server.js';
import { JWKS_PATH, TOKEN_PATH } from './lib/shared.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

const SECONDS = flag('seconds', 60);
const WORKERS = flag('workers', 2);
const CONNECTIONS = flag('connections', 16);

const serverRss = (pid: number) => rssMiB(processTree(pid));
const workersOf = (pid: number) => processTree(pid).filter((p) => p !== pid);

async function main(): Promise<void> {
  const missing = await d1Unavailable();
  if (missing) throw new Error(missing);
  const workDir = mkdtempSync(join(os.tmpdir(), 'd1-soak-'));
  const port = await freePort();
  const secret = randomBytes(32).toString('base64url');
  const spec = await prepareD1({ port, workDir, secret, clientId: D1_CLIENT_ID }, { workers: WORKERS });
  // The bench's log level (info): every request and every audit event is logged, as in production.
  const server = new ServerProcess('soak', spec);
  const base = `http://127.0.0.1:${port}`;
  const events: string[] = [];
  const at = (what: string) => events.push(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
  let started = Date.now();
  try {
    // Start-up (primary, then the workers) may take longer than one ready bound on a loaded machine.
    for (let attempt = 1; ; attempt++) {
      try {
        await server.waitReady(`${base}/healthz`);
        break;
      } catch (err) {
        if (attempt >= 4 || server.exitInfo) throw err;
      }
    }
    log(`soak: ${d1CliPath()} serve --workers ${WORKERS}, ${CONNECTIONS} connections for ${SECONDS} s`);
    started = Date.now();
    const load = runAutocannon({
      url: `${base}${TOKEN_PATH}`,
      method: 'POST',
      connections: CONNECTIONS,
      duration: SECONDS,
      headers: { authorization: basicAuth(D1_CLIENT_ID, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const until = (fraction: number) => sleep(Math.max(0, started + fraction * SECONDS * 1000 - Date.now()));

    await until(0.1);
    const rssStart = serverRss(server.pid);
    at(`RSS ${rssStart.toFixed(1)} MiB (primary + workers)`);

    await until(0.25);
    const key = JSON.parse(await d1Cli(spec.env, ['keys', 'rotate', '--activate-in', '1', '--force', '--json'])) as { kid: string };
    at(`keys rotate: new key ${key.kid}, signing from 1 s later`);

    await until(0.5);
    const rotated = JSON.parse(await d1Cli(spec.env, ['client', 'rotate-secret', D1_CLIENT_ID, '--grace', '3600', '--json'])) as { client_secret: string };
    at('client rotate-secret --grace 3600 (the load keeps the old secret)');

    let killed: number | undefined;
    if (WORKERS >= 2) {
      await until(0.75);
      killed = workersOf(server.pid)[0];
      if (killed !== undefined) {
        process.kill(killed, 'SIGKILL');
        at(`SIGKILL worker ${killed}`);
      }
    }

    await until(0.95);
    const rssEnd = serverRss(server.pid);
    at(`RSS ${rssEnd.toFixed(1)} MiB`);
    const { result, latencies } = await load;

    // After the load: the new key signs, the rotated secret works, the old one still does (grace).
    const jwks = createRemoteJWKSet(new URL(`${base}${JWKS_PATH}`));
    const check = async (s: string) => {
      const res = await fetch(`${base}${TOKEN_PATH}`, {
        method: 'POST',
        headers: { authorization: basicAuth(D1_CLIENT_ID, s), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      const body = (await res.json()) as { access_token?: string };
      if (!res.ok || !body.access_token) return `HTTP ${res.status}`;
      await jwtVerify(body.access_token, jwks);
      return decodeProtectedHeader(body.access_token).kid === key.kid ? 'ok, new key' : 'ok, OLD key';
    };
    const afterChecks = { newSecret: await check(rotated.client_secret), oldSecretInGrace: await check(secret) };

    const sent = result.requests.total;
    const httpFailed = result.non2xx;
    const report = {
      command: `npm run soak -- --seconds ${SECONDS} --workers ${WORKERS} --connections ${CONNECTIONS}`,
      seconds: SECONDS,
      workers: WORKERS,
      connections: CONNECTIONS,
      sent,
      ok: result['2xx'],
      httpFailed,
      statusCodes: result.statusCodeStats,
      connectionErrors: result.errors,
      timeouts: result.timeouts,
      tokensPerSec: Math.round(result['2xx'] / SECONDS),
      p50Ms: Number(percentile(latencies, 50).toFixed(2)),
      p99Ms: Number(percentile(latencies, 99).toFixed(2)),
      rssStartMiB: Number(rssStart.toFixed(1)),
      rssEndMiB: Number(rssEnd.toFixed(1)),
      rssGrowthPct: Number((((rssEnd - rssStart) / rssStart) * 100).toFixed(1)),
      killedWorker: killed ?? null,
      afterChecks,
      events,
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
