// Issue 6: gateway overhead. A tiny node:http upstream (bench/baselines/upstream.ts) measured
// directly and through `d1-authz gateway --upstream URL --config routes.json --port P` with a valid
// Bearer token from a d1-authz; the difference in p50 latency is the gateway's cost (target < 1 ms).
//
// Skipped when the build has no gateway command. Note that `d1-authz gateway --help` exits 0 even
// then (commander prints the top-level help for an unknown command), so the check also requires the
// help text to mention --upstream.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { compileBaselines } from '../lib/compile.js';
import { d1CliPath, d1Env, d1Help, d1Unavailable, nodeBin, startD1 } from '../lib/d1.js';
import type { RunningD1 } from '../lib/d1.js';
import { fmt, mdTable } from '../lib/format.js';
import { measuredLoad, runAutocannon, waitQuiet } from '../lib/load.js';
import type { MeasuredRun } from '../lib/load.js';
import { freePort, log, ServerProcess } from '../lib/server.js';
import { CONNECTIONS, REPEAT, SECONDARY_S } from '../lib/settings.js';
import { HEALTH_PATH } from '../lib/shared.js';
import type { Scenario, ScenarioOutcome } from '../lib/types.js';
import { fetchToken, HTTP_ALIGN, HTTP_HEAD, httpRow, jwtPart, runNotes } from './common.js';

const NAME = 'gateway';
const API_PATH = '/banking/d1/v1/issuers/is_tbank01/consumers/c-0001';
const OTHER_SCOPE_PATH = '/banking/d1/v1/admin';
/** 1 connection: the per-request latency the gateway adds; the lowest BENCH_CONNECTIONS: under load. */
const GATEWAY_CONNECTIONS = [...new Set([1, Math.min(...CONNECTIONS)])];

async function gatewayUnavailable(): Promise<string | null> {
  const missing = await d1Unavailable();
  if (missing !== null) return missing;
  const help = await d1Help(['gateway']);
  if (help.code === 0 && help.text.includes('--upstream')) return null;
  return 'not available in this build (`d1-authz gateway --help` lists no gateway command)';
}

/**
 * The routes file, in the format of src/gateway/config.ts: first matching rule wins, unlisted paths
 * are denied; issuer and audience are those of the token (the gateway would otherwise derive them
 * from the server settings of its environment, where D1AUTHZ_PORT is the gateway's own).
 */
function routesFile(issuer: string, audience: string): unknown {
  return {
    issuer,
    audience,
    unlisted: 'deny',
    routes: [
      { method: 'GET', path: '/banking/d1/v1/issuers/*/consumers/**', scopes: ['a'] },
      { method: 'GET', path: OTHER_SCOPE_PATH, scopes: ['b'] },
    ],
  };
}

interface Pair {
  connections: number;
  direct: { run: MeasuredRun; bad: number };
  gateway: { run: MeasuredRun; bad: number };
}

export const gatewayScenario: Scenario = {
  name: NAME,
  description: 'tiny node:http upstream, direct vs through `d1-authz gateway` with a valid Bearer token (latency the gateway adds)',
  unavailable: gatewayUnavailable,
  run: async (): Promise<ScenarioOutcome> => {
    const checks: string[] = [];
    const notes: string[] = [];
    const stops: (() => Promise<void>)[] = [];
    const pairs: Pair[] = [];
    try {
      const d1: RunningD1 = await startD1(`${NAME}-authz`, { workers: 1 });
      stops.push(() => d1.stop());
      notes.push(...d1.spec.notes.filter((n) => n.startsWith('WARNING')));
      const token = await fetchToken(d1.base, d1.spec.credentials, 'a');
      const claims = jwtPart(token, 1);
      const issuer = String(claims['iss']);
      const audience = Array.isArray(claims['aud']) ? String(claims['aud'][0]) : String(claims['aud']);

      const upPort = await freePort();
      const upstream = new ServerProcess(`${NAME}-upstream`, {
        command: nodeBin,
        args:
          process.env['BENCH_TSX'] === '1'
            ? ['--import', 'tsx', join('bench', 'baselines', 'upstream.ts')]
            : [join(compileBaselines(), 'baselines', 'upstream.js')],
        env: { ...process.env, NODE_ENV: 'production', PORT: String(upPort) },
      });
      stops.push(() => upstream.stop());
      const upBase = `http://127.0.0.1:${upPort}`;
      await upstream.waitReady(`${upBase}${HEALTH_PATH}`);

      // The gateway, and a pre-flight that it behaves like one.
      const configPath = join(d1.workDir, 'routes.json');
      writeFileSync(configPath, JSON.stringify(routesFile(issuer, audience), null, 2));
      const gwPort = await freePort();
      const logLevel = process.env['BENCH_D1_LOG_LEVEL'] ?? 'info';
      const gwArgs = [d1CliPath(), 'gateway', '--upstream', upBase, '--config', configPath, '--port', String(gwPort)];
      if ((await d1Help(['gateway'])).text.includes('--log-level')) gwArgs.push('--log-level', logLevel);
      const gw = new ServerProcess(NAME, {
        command: nodeBin,
        args: gwArgs,
        env: { ...d1Env({ port: gwPort, workDir: d1.workDir }), D1AUTHZ_ISSUER: issuer, D1AUTHZ_AUDIENCE: audience },
      });
      stops.push(() => gw.stop());
      const gwBase = `http://127.0.0.1:${gwPort}`;
      await gw.waitReady(`${gwBase}${API_PATH}`, true);
      const auth = { authorization: `Bearer ${token}` };
      const ok = await fetch(`${gwBase}${API_PATH}`, { headers: auth });
      const okBody = await ok.text();
      const directBody = await (await fetch(`${upBase}${API_PATH}`)).text();
      if (ok.status !== 200 || okBody !== directBody) throw new Error(`gateway, valid token: ${ok.status} ${okBody.slice(0, 200)}`);
      const expectStatus = async (what: string, path: string, init: RequestInit, want: number): Promise<void> => {
        const res = await fetch(`${gwBase}${path}`, init);
        await res.arrayBuffer();
        if (res.status !== want) throw new Error(`gateway, ${what}: ${res.status} (want ${want})`);
      };
      await expectStatus('no token', API_PATH, {}, 401);
      await expectStatus('bad signature', API_PATH, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } }, 401);
      await expectStatus('route needing scope b, scope-a token', OTHER_SCOPE_PATH, { headers: auth }, 403);
      await expectStatus('unlisted path', '/elsewhere', { headers: auth }, 404);
      checks.push('gateway: valid token 200 with the upstream\'s body; no token 401; bad signature 401; missing scope 403; unlisted path 404');
      notes.push(
        `started as \`d1-authz gateway --upstream URL --config routes.json --port P\`, log level ${logLevel} ` +
          '(one log line per request), routes `GET /banking/d1/v1/issuers/*/consumers/**` (scope a) and `GET /banking/d1/v1/admin` (scope b)',
      );

      const headers = { authorization: `Bearer ${token}` };
      const body = await (await fetch(`${upBase}${API_PATH}`)).text();
      const measure = async (label: string, url: string, roots: number[], connections: number): Promise<{ run: MeasuredRun; bad: number }> => {
        let bad = 0;
        const requests = [{ method: 'GET' as const, path: API_PATH, headers, onResponse: (status: number, b: string) => {
          if (status >= 200 && status < 300 && b !== body) bad++;
        } }];
        await runAutocannon({ url, connections, duration: 1, requests });
        let best: { run: MeasuredRun; bad: number } | undefined;
        for (let i = 0; i < REPEAT; i++) {
          await sleep(300);
          await waitQuiet(NAME);
          log(`${NAME}: ${label} ${connections} connections x ${SECONDARY_S}s`);
          bad = 0;
          const run = await measuredLoad(roots, { url, connections, duration: SECONDARY_S, requests });
          log(`${NAME} ${label} c=${connections}: ${run.rate.toFixed(0)} req/s, p50 ${run.p50.toFixed(3)} ms, errors ${run.httpErrors + bad}`);
          if (!best || run.rate > best.run.rate) best = { run, bad };
        }
        if (!best) throw new Error('no run');
        return best;
      };
      for (const connections of GATEWAY_CONNECTIONS) {
        const direct = await measure('direct', upBase, [upstream.pid], connections);
        const via = await measure('via gateway', gwBase, [gw.pid, upstream.pid], connections);
        pairs.push({ connections, direct, gateway: via });
      }
      for (const dead of [upstream.exitInfo, gw.exitInfo]) if (dead) throw new Error(`a server died during load: ${dead}`);
    } finally {
      for (const stop of stops.reverse()) await stop();
    }

    const rows: string[][] = [];
    const diffRows: string[][] = [];
    for (const p of pairs) {
      rows.push(['upstream direct', ...httpRow(p.connections, p.direct.run, p.direct.bad)]);
      rows.push(['through gateway', ...httpRow(p.connections, p.gateway.run, p.gateway.bad)]);
      notes.push(...runNotes(`direct c=${p.connections}`, p.direct.run, p.direct.bad));
      notes.push(...runNotes(`gateway c=${p.connections}`, p.gateway.run, p.gateway.bad));
      const added = p.gateway.run.p50 - p.direct.run.p50;
      diffRows.push([
        String(p.connections),
        fmt(added, 3),
        fmt(p.gateway.run.p99 - p.direct.run.p99, 3),
        `${(p.gateway.run.rate / p.direct.run.rate).toFixed(2)}x`,
        p.connections === 1 ? (added < 1 ? 'met (< 1 ms)' : 'MISSED (≥ 1 ms)') : '',
      ]);
    }
    return {
      sections: [
        {
          title: 'Gateway overhead',
          intro:
            `GET ${API_PATH} with \`Authorization: Bearer <valid token>\`, ${SECONDARY_S} s per run, direct to a node:http upstream vs through \`d1-authz gateway\`. ` +
            'Server columns: the upstream alone (direct), gateway + upstream (through gateway). Every 2xx body must equal the upstream\'s.',
          table: mdTable(['path', ...HTTP_HEAD], rows, ['l', ...HTTP_ALIGN]),
        },
        {
          title: 'Gateway: added latency',
          table: mdTable(['conns', 'p50 added ms', 'p99 added ms', 'req/s gateway / direct', 'target < 1 ms (p50, 1 conn)'], diffRows, ['r', 'r', 'r', 'r', 'l']),
        },
      ],
      checks,
      notes,
    };
  },
};
