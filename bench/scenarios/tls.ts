// Issue 16: the path D1 really takes, mutual TLS. Three scenarios, each against the node:https
// floor (baselines/floor-node-https.ts) with the same certificates in the same run:
//   tls-keepalive       one connection, many tokens (D1's normal case); also d1-authz over plain HTTP
//   tls-new-connection  one connection per request, with TLS session resumption and without (handshakes/s)
//   tls-bound           a certificate-bound client (cnf.x5t#S256) against an unbound one, same server
// Every 2xx body is checked for an access token during load; a sample of each run is fully verified
// (ES256 against the server's JWKS, and bound / unbound as expected).

import { setTimeout as sleep } from 'node:timers/promises';

import type autocannon from 'autocannon';

import { makeChecker } from '../lib/check.js';
import { startD1, d1Unavailable } from '../lib/d1.js';
import { fmt, mdTable, ratio } from '../lib/format.js';
import { isNoisy, measuredLoad, runAutocannon, waitQuiet } from '../lib/load.js';
import type { MeasuredRun } from '../lib/load.js';
import { createBenchPki } from '../lib/pki.js';
import type { BenchPki, KeyKind } from '../lib/pki.js';
import { log } from '../lib/server.js';
import { CONNECTIONS, REPEAT, SECONDARY_S, WARMUP_S } from '../lib/settings.js';
import { TOKEN_PATH } from '../lib/shared.js';
import type { Credentials, Scenario, ScenarioOutcome } from '../lib/types.js';
import { newConnectionLoad } from '../lib/tls-load.js';
import type { NewConnectionRun } from '../lib/tls-load.js';
import { HTTP_ALIGN, HTTP_HEAD, httpRow, runNotes } from './common.js';
import { FORM_BODY, startD1Tls, startFloorTls, tokenHeaders } from './tls-servers.js';
import type { TlsTarget } from './tls-servers.js';

/** BENCH_TLS_RSA=0 leaves out the RSA 4096 rows of tls-new-connection. */
const WITH_RSA = process.env['BENCH_TLS_RSA'] !== '0';
const MAX_SAMPLES = 8;

interface Row {
  label: string;
  connections: number;
  rate: number;
  cpuPerK: number;
  p99: number;
  errors: number;
  rssMiB: number;
}

interface Goal {
  text: string;
  met: (a: Row, b: Row) => boolean;
}

const atLeast = (x: number): Goal => ({ text: `≥ ${x.toFixed(2)}x`, met: (a, b) => a.rate >= x * b.rate });
const noErrors: Goal = { text: 'zero errors', met: (a, b) => a.errors === 0 && b.errors === 0 };

function ratioTable(rows: Row[], pairs: { num: string; den: string; goals: Goal[] }[]): string {
  const out: string[][] = [];
  for (const p of pairs) {
    for (const a of rows.filter((r) => r.label === p.num)) {
      const b = rows.find((r) => r.label === p.den && r.connections === a.connections);
      if (!b) continue;
      out.push([
        `${p.num} / ${p.den}`,
        String(a.connections),
        ratio(a.rate, b.rate),
        ratio(a.p99, b.p99),
        ratio(a.rssMiB, b.rssMiB),
        ratio(a.cpuPerK, b.cpuPerK),
        p.goals.map((g) => `${g.text}: ${g.met(a, b) ? 'met' : 'MISSED'}`).join('; '),
      ]);
    }
  }
  return mdTable(['pair', 'conns', 'rate', 'p99', 'peak RSS', 'CPU per token', 'goal'], out, ['l', 'r', 'r', 'r', 'r', 'r', 'l']);
}

// ---------------------------------------------------------------------------------------------
// Keep-alive load through autocannon (TLS with the client certificate)

interface Counted {
  bad: number;
  samples: string[];
  seen: number;
}

function tokenRequest(creds: Credentials, counted: Counted): autocannon.Request {
  return {
    method: 'POST',
    path: TOKEN_PATH,
    headers: tokenHeaders(creds),
    body: FORM_BODY,
    onResponse: (status: number, body: string) => {
      if (status < 200 || status > 299) return;
      if (!body.includes('"access_token":"ey')) counted.bad++;
      counted.seen++;
      if (counted.samples.length < MAX_SAMPLES) counted.samples.push(body);
      else {
        const j = Math.floor(Math.random() * counted.seen);
        if (j < MAX_SAMPLES) counted.samples[j] = body;
      }
    },
  };
}

function keepAliveOptions(t: TlsTarget | { url: string }, creds: Credentials, connections: number, durationS: number, counted: Counted): autocannon.Options {
  const tls = 'peer' in t;
  return {
    url: tls ? `https://127.0.0.1:${t.peer.port}` : t.url,
    connections,
    duration: durationS,
    ...(tls ? { tlsOptions: { ca: t.peer.ca, cert: t.peer.client?.cert, key: t.peer.client?.key, servername: 'localhost' } } : {}),
    requests: [tokenRequest(creds, counted)],
  };
}

interface KeepAliveResult {
  row: Row;
  cells: string[];
  notes: string[];
  verified: number;
  sampled: number;
}

/** One keep-alive series: a row label and what to drive. */
interface KeepAliveSeries {
  label: string;
  pid: number;
  target: TlsTarget | { url: string };
  creds: Credentials;
  check: (body: string) => Promise<string | null>;
  dead: () => string | undefined;
}

/**
 * Warms every series up, then measures them in rounds (at each connection count, each attempt runs
 * every series once in turn), so that the two sides of a ratio are measured seconds apart and a
 * drift of the host reaches both alike. Results come back series by series, in connection order.
 */
async function keepAliveRounds(all: KeepAliveSeries[]): Promise<KeepAliveResult[]> {
  const maxConn = Math.max(...CONNECTIONS);
  for (const s of all) await runAutocannon(keepAliveOptions(s.target, s.creds, maxConn, WARMUP_S, { bad: 0, samples: [], seen: 0 }));
  const best = new Map<string, { run: MeasuredRun; counted: Counted }>();
  const key = (s: KeepAliveSeries, connections: number) => `${s.label}\u0000${connections}`;
  for (const connections of CONNECTIONS) {
    for (let i = 0; i < REPEAT; i++) {
      for (const s of all) {
        await sleep(300);
        await waitQuiet(s.label);
        const counted: Counted = { bad: 0, samples: [], seen: 0 };
        const run = await measuredLoad([s.pid], keepAliveOptions(s.target, s.creds, connections, SECONDARY_S, counted));
        const d = s.dead();
        if (d) throw new Error(`${s.label}: server died during load: ${d}`);
        log(`${s.label} c=${connections}: ${run.rate.toFixed(0)} tok/s, p99 ${run.p99.toFixed(2)} ms, errors ${run.httpErrors + counted.bad}, CPU ${run.cpuS.toFixed(2)} s`);
        const prev = best.get(key(s, connections));
        if (!prev || run.rate > prev.run.rate) best.set(key(s, connections), { run, counted });
      }
    }
  }
  const out: KeepAliveResult[] = [];
  for (const s of all) {
    for (const connections of CONNECTIONS) {
      const b = best.get(key(s, connections));
      if (b) out.push(await keepAliveResult(s, connections, b));
    }
  }
  return out;
}

async function keepAliveResult(s: KeepAliveSeries, connections: number, best: { run: MeasuredRun; counted: Counted }): Promise<KeepAliveResult> {
  const { label } = s;
  let failed = 0;
  let firstProblem = '';
  for (const sample of best.counted.samples) {
    const p = await s.check(sample);
    if (p !== null) {
      failed++;
      firstProblem ||= p;
    }
  }
  const bad = best.counted.bad + failed;
  const notes = runNotes(`${label} c=${connections}`, best.run, bad);
  if (firstProblem) notes.push(`${label} c=${connections}: failed sample: ${firstProblem}`);
  return {
    row: {
      label,
      connections,
      rate: best.run.rate,
      cpuPerK: best.run.ok2xx > 0 ? (best.run.cpuS * 1e6) / best.run.ok2xx : Number.NaN,
      p99: best.run.p99,
      errors: best.run.httpErrors + bad,
      rssMiB: best.run.peakRssMiB,
    },
    cells: [label, ...httpRow(connections, best.run, bad)],
    notes,
    verified: best.counted.samples.length - failed,
    sampled: best.counted.samples.length,
  };
}

async function withPki<T>(kind: KeyKind, fn: (pki: BenchPki) => Promise<T>): Promise<T> {
  const pki = createBenchPki(kind);
  try {
    return await fn(pki);
  } finally {
    pki.cleanup();
  }
}

const KA_HEAD = ['target', ...HTTP_HEAD.map((h) => h.replace('req', 'tok'))];
const KA_ALIGN: ('l' | 'r')[] = ['l', ...HTTP_ALIGN];

// ---------------------------------------------------------------------------------------------
// (a) keep-alive

export const tlsKeepAliveScenario: Scenario = {
  name: 'tls-keepalive',
  description: 'mutual TLS (P-256), keep-alive: d1-authz `serve --workers 1` against the node:https floor and d1-authz over plain HTTP',
  unavailable: d1Unavailable,
  run: () =>
    withPki('p256', async (pki): Promise<ScenarioOutcome> => {
      const checks: string[] = [];
      const notes: string[] = [];
      // All three up at once, measured in turns (keepAliveRounds): plain HTTP d1-authz (same build,
      // same settings but TLS), d1-authz over mutual TLS, and the node:https floor.
      const plain = await startD1('d1-authz-plain', { workers: 1 });
      const tls: TlsTarget[] = [];
      let results: KeepAliveResult[];
      try {
        const plainChecker = await makeChecker(`${plain.base}/authz/d1/v1/.well-known/jwks.json`, 'd1');
        const series: KeepAliveSeries[] = [
          { label: 'd1-authz (plain http)', pid: plain.server.pid, target: { url: plain.base }, creds: plain.spec.credentials, check: (b) => plainChecker.check(b), dead: () => plain.server.exitInfo },
        ];
        for (const start of [() => startD1Tls('d1-authz-mtls', pki, { workers: 1 }), () => startFloorTls('floor-https', pki, { workers: 1 })]) {
          const t = await start();
          tls.push(t);
          checks.push(`${t.name}: ${t.checks.join('; ')}`);
          notes.push(...t.notes.map((n) => `${t.name}: ${n}`));
          const checker = t.checker(false);
          series.push({ label: t.name === 'floor-https' ? 'floor-https (mTLS)' : 'd1-authz (mTLS)', pid: t.server.pid, target: t, creds: t.credentials, check: (b) => checker.check(b), dead: () => t.server.exitInfo });
        }
        results = await keepAliveRounds(series);
      } finally {
        await plain.stop();
        for (const t of tls) await t.stop();
      }
      for (const r of results) {
        notes.push(...r.notes);
        checks.push(`${r.row.label} c=${r.row.connections}: ${r.verified}/${r.sampled} sampled tokens verified`);
      }
      const rows = results.map((r) => r.row);
      return {
        sections: [
          { title: 'Mutual TLS, keep-alive', intro: 'P-256 server and client certificates from one throw-away CA (openssl); autocannon presents the client certificate; one TLS connection per autocannon connection for the whole run. The three servers are up together and measured in turns at each connection count.', table: mdTable(KA_HEAD, results.map((r) => r.cells), KA_ALIGN) },
          {
            title: 'Mutual TLS, keep-alive: ratios',
            table: ratioTable(rows, [
              { num: 'd1-authz (mTLS)', den: 'd1-authz (plain http)', goals: [atLeast(0.9), noErrors] },
              { num: 'd1-authz (mTLS)', den: 'floor-https (mTLS)', goals: [atLeast(1), noErrors] },
            ]),
          },
        ],
        checks,
        notes,
      };
    }),
};

// ---------------------------------------------------------------------------------------------
// (b) a new connection per request

interface NcResult {
  row: Row;
  cells: string[];
  notes: string[];
}

async function newConnectionRuns(t: TlsTarget, label: string, resume: boolean, loops: number): Promise<NcResult> {
  const request = { path: TOKEN_PATH, headers: tokenHeaders(t.credentials), body: FORM_BODY };
  const okBody = (b: string): boolean => b.includes('"access_token":"ey');
  const sessions: (Buffer | undefined)[] = [];
  await newConnectionLoad([t.server.pid], t.peer, request, { loops, durationS: Math.min(WARMUP_S, 2), resume, okBody, sessions });
  let best: NewConnectionRun | undefined;
  for (let i = 0; i < REPEAT; i++) {
    await sleep(300);
    await waitQuiet(label);
    const run = await newConnectionLoad([t.server.pid], t.peer, request, { loops, durationS: SECONDARY_S, resume, okBody, sessions });
    const d = t.server.exitInfo;
    if (d) throw new Error(`${label}: server died during load: ${d}`);
    log(`${label}: ${run.rate.toFixed(0)} handshakes+tokens/s, resumed ${run.resumed}/${run.ok2xx}, errors ${run.errors}, CPU ${run.cpuS.toFixed(2)} s`);
    if (!best || run.rate > best.rate) best = run;
  }
  if (!best) throw new Error('no run');
  const checker = t.checker(false);
  let failed = 0;
  for (const s of best.samples) if ((await checker.check(s)) !== null) failed++;
  const errors = best.errors + failed;
  const notes: string[] = [];
  if (best.errorDetail || failed) notes.push(`${label}: ${best.errorDetail}${failed ? `; failed samples ${failed}` : ''}`);
  if (isNoisy(best.otherCpuS, best.durationS)) notes.push(`${label}: (!) ${fmt(best.otherCpuS, 2)} CPU s used by other processes during the run; numbers disturbed`);
  notes.push(`${label}: ${best.samples.length - failed}/${best.samples.length} sampled tokens verified`);
  const resumedPct = best.ok2xx > 0 ? (100 * best.resumed) / best.ok2xx : Number.NaN;
  if (resume && !(resumedPct >= 90)) notes.push(`${label}: only ${fmt(resumedPct, 1)} % of the connections resumed a session`);
  const cpuPerK = best.ok2xx > 0 ? (best.cpuS * 1e6) / best.ok2xx : Number.NaN;
  return {
    row: { label, connections: loops, rate: best.rate, cpuPerK, p99: best.p99, errors, rssMiB: best.peakRssMiB },
    cells: [
      label,
      String(loops),
      fmt(best.rate),
      fmt(resumedPct, 1),
      fmt(best.p50, 2),
      fmt(best.p99, 2),
      fmt(errors),
      fmt(best.peakRssMiB, 1),
      fmt(best.cpuS, 2),
      fmt(cpuPerK, 1),
      fmt(best.genCpuS, 2),
      `${fmt(best.otherCpuS, 2)}${isNoisy(best.otherCpuS, best.durationS) ? ' (!)' : ''}`,
    ],
    notes,
  };
}

export const tlsNewConnectionScenario: Scenario = {
  name: 'tls-new-connection',
  description:
    'mutual TLS, a new connection per request, with session resumption and without (handshakes/s): d1-authz `serve --workers 1` (and `--workers 2`, resumed) against the node:https floor; P-256' +
    (WITH_RSA ? ', RSA 4096 as extra rows' : ''),
  unavailable: d1Unavailable,
  run: async (): Promise<ScenarioOutcome> => {
    const loops = Math.min(...CONNECTIONS);
    const results: NcResult[] = [];
    const checks: string[] = [];
    const notes: string[] = [];
    const kinds: KeyKind[] = WITH_RSA ? ['p256', 'rsa4096'] : ['p256'];
    for (const kind of kinds) {
      await withPki(kind, async (pki) => {
        const servers: [string, () => Promise<TlsTarget>, boolean[]][] = [
          ['d1-authz', () => startD1Tls(`d1-authz-mtls-${kind}`, pki, { workers: 1 }), [true, false]],
          ['floor-https', () => startFloorTls(`floor-https-${kind}`, pki, { workers: 1 }), [true, false]],
        ];
        // Across workers a session resumes only when they share ticket keys.
        if (kind === 'p256') servers.push(['d1-authz-2w', () => startD1Tls(`d1-authz-2w-mtls-${kind}`, pki, { workers: 2 }), [true]]);
        // All up at once; resumed runs of every server first, then full handshakes, so that d1-authz
        // and the floor in one mode are measured back to back (a drift of the host reaches both).
        const up: [string, TlsTarget, boolean[]][] = [];
        const measured: { order: number; result: NcResult }[] = [];
        try {
          for (const [name, start, modes] of servers) {
            const t = await start();
            up.push([name, t, modes]);
            checks.push(`${t.name}: ${t.checks.join('; ')}`);
            notes.push(...t.notes.map((n) => `${t.name}: ${n}`));
          }
          for (const resume of [true, false]) {
            for (const [order, [name, t, modes]] of up.entries()) {
              if (!modes.includes(resume)) continue;
              const result = await newConnectionRuns(t, `${name} ${kind} ${resume ? 'resumed' : 'full handshake'}`, resume, loops);
              measured.push({ order: 2 * order + (resume ? 0 : 1), result });
            }
          }
        } finally {
          for (const [, t] of up) await t.stop();
        }
        // The table keeps one server's rows together.
        results.push(...measured.sort((a, b) => a.order - b.order).map((m) => m.result));
      });
    }
    for (const r of results) notes.push(...r.notes);
    const rows = results.map((r) => r.row);
    const pairs = kinds.flatMap((k) => [
      { num: `d1-authz ${k} resumed`, den: `floor-https ${k} resumed`, goals: [atLeast(1), noErrors] },
      { num: `d1-authz ${k} full handshake`, den: `floor-https ${k} full handshake`, goals: [noErrors] },
      { num: `d1-authz ${k} resumed`, den: `d1-authz ${k} full handshake`, goals: [] },
    ]);
    pairs.push({ num: 'd1-authz-2w p256 resumed', den: 'd1-authz p256 resumed', goals: [noErrors] });
    return {
      sections: [
        {
          title: 'Mutual TLS, a new connection per request',
          intro:
            `${loops} client loops in the driver, each opening one TLS connection per token request (client certificate presented, \`Connection: close\`), ` +
            'with the session ticket of its previous connection offered (resumed) or none (full handshake). rate = connections (= handshakes = tokens) per second with a 2xx answer; resumed % = connections the server resumed.',
          table: mdTable(
            ['target', 'loops', 'handshakes/s', 'resumed %', 'p50 ms', 'p99 ms', 'errors', 'peak RSS MiB', 'server CPU s', 'CPU ms/1k tok', 'loadgen CPU s', 'other CPU s'],
            results.map((r) => r.cells),
            ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
          ),
        },
        { title: 'Mutual TLS, a new connection per request: ratios', table: ratioTable(rows, pairs) },
      ],
      checks,
      notes,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// (c) certificate-bound against unbound

export const tlsBoundScenario: Scenario = {
  name: 'tls-bound',
  description: 'mutual TLS keep-alive: a certificate-bound client (`--bound-tokens`, cnf.x5t#S256) against an unbound one on the same d1-authz `serve --workers 1`',
  unavailable: d1Unavailable,
  run: () =>
    withPki('p256', async (pki): Promise<ScenarioOutcome> => {
      const t = await startD1Tls('d1-authz-mtls-bound', pki, { workers: 1, bound: true });
      const results: KeepAliveResult[] = [];
      try {
        const bound = t.boundCredentials;
        if (!bound) throw new Error('no bound client');
        const unboundCheck = t.checker(false);
        const boundCheck = t.checker(true);
        results.push(
          ...(await keepAliveRounds([
            { label: 'd1-authz unbound', pid: t.server.pid, target: t, creds: t.credentials, check: (b) => unboundCheck.check(b), dead: () => t.server.exitInfo },
            { label: 'd1-authz bound', pid: t.server.pid, target: t, creds: bound, check: (b) => boundCheck.check(b), dead: () => t.server.exitInfo },
          ])),
        );
      } finally {
        await t.stop();
      }
      const notes = [...t.notes, ...results.flatMap((r) => r.notes)];
      const checks = [t.checks.join('; '), ...results.map((r) => `${r.row.label} c=${r.row.connections}: ${r.verified}/${r.sampled} sampled tokens verified (bound: cnf.x5t#S256 = the certificate's; unbound: no cnf)`)];
      return {
        sections: [
          { title: 'Certificate-bound against unbound (mutual TLS, keep-alive)', table: mdTable(KA_HEAD, results.map((r) => r.cells), KA_ALIGN) },
          {
            title: 'Certificate-bound against unbound: ratios',
            table: ratioTable(results.map((r) => r.row), [{ num: 'd1-authz bound', den: 'd1-authz unbound', goals: [atLeast(0.95), noErrors] }]),
          },
        ],
        checks,
        notes,
      };
    }),
};
