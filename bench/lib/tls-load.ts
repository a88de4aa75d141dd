// Mutual-TLS clients for the TLS scenarios: one request over its own connection (for pre-flight
// checks and readiness), and the new-connection-per-request load (handshakes/s) that autocannon
// cannot make: every request opens a TLS connection presenting the client certificate, sends
// `Connection: close`, reads the answer and closes; with `resume`, each loop offers the session
// (ticket) of its previous connection, as a client with a TLS session cache does.

import { connect, type ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';

import { percentile } from './load.js';
import { cpuSecondsBetween, cpuTicks, machineBusySeconds, peakRssMiB, processTree, resetPeakRss } from './proc.js';
import type { PemPair } from './pki.js';

export interface TlsPeer {
  port: number;
  ca: string;
  /** The client certificate presented; undefined = none. */
  client: Pick<PemPair, 'cert' | 'key'> | undefined;
}

export interface Answer {
  status: number;
  body: string;
  reused: boolean;
}

const tlsOptions = (peer: TlsPeer, session: Buffer | undefined): ConnectionOptions => ({
  host: '127.0.0.1',
  port: peer.port,
  ca: peer.ca,
  servername: 'localhost',
  ...(peer.client ? { cert: peer.client.cert, key: peer.client.key } : {}),
  ...(session ? { session } : {}),
});

function decodeChunked(raw: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', i);
    if (eol < 0) return out;
    const size = Number.parseInt(raw.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/** One HTTP/1.1 request on a new TLS connection; `onSession` gets the tickets the server sends. */
export function requestOnce(
  peer: TlsPeer,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
  session?: Buffer,
  onSession?: (s: Buffer) => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(tlsOptions(peer, session));
    const chunks: Buffer[] = [];
    let reused = false;
    socket.setTimeout(30_000, () => socket.destroy(new Error('timeout')));
    if (onSession) socket.on('session', onSession);
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      const head = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close', `content-length: ${Buffer.byteLength(body)}`];
      for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
      socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) {
        reject(new Error(`no HTTP answer (${text.length} bytes)`));
        return;
      }
      const headText = text.slice(0, split).toLowerCase();
      const rest = text.slice(split + 4);
      resolve({ status: Number.parseInt(text.slice(9, 12), 10), body: headText.includes('transfer-encoding: chunked') ? decodeChunked(rest) : rest, reused });
    });
  });
}

/** Polls `path` over mutual TLS until it answers 200. */
export async function waitReadyTls(peer: TlsPeer, path: string, dead: () => string | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const d = dead();
    if (d) throw new Error(`server ${d}`);
    try {
      const a = await requestOnce(peer, 'GET', path, {}, '');
      if (a.status === 200) return;
      last = `status ${a.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(150);
  }
  throw new Error(`not ready over TLS after ${timeoutMs} ms (${path}): ${last}`);
}

export interface NewConnectionRun {
  durationS: number;
  ok2xx: number;
  /** Completed connections (one request each) per second with a 2xx answer. */
  rate: number;
  resumed: number;
  p50: number;
  p99: number;
  errors: number;
  errorDetail: string;
  peakRssMiB: number;
  cpuS: number;
  genCpuS: number;
  otherCpuS: number;
  /** 2xx bodies kept (the first few) for full verification after the run. */
  samples: string[];
}

/**
 * `loops` concurrent clients, each opening one connection per request for `durationS` s. Every 2xx
 * body must hold an access token (`okBody`); server tree CPU and peak RSS as in measuredLoad.
 */
export async function newConnectionLoad(
  roots: readonly number[],
  peer: TlsPeer,
  request: { path: string; headers: Record<string, string>; body: string },
  opts: { loops: number; durationS: number; resume: boolean; okBody: (body: string) => boolean; sessions?: (Buffer | undefined)[] },
): Promise<NewConnectionRun> {
  const tree = (): number[] => [...new Set(roots.flatMap((r) => processTree(r)))];
  const before = tree();
  resetPeakRss(before);
  const cpuBefore = cpuTicks(before);
  const genBefore = process.cpuUsage();
  const busyBefore = machineBusySeconds();
  const started = performance.now();
  const end = started + opts.durationS * 1000;
  const latencies: number[] = [];
  const samples: string[] = [];
  let ok = 0;
  let resumed = 0;
  let non2xx = 0;
  let badBodies = 0;
  let connErrors = 0;
  let firstError = '';
  // Each loop's last session, kept across calls (a warm-up first): every measured connection can resume.
  const sessions = opts.sessions ?? [];
  const loop = async (index: number): Promise<void> => {
    let session = sessions[index];
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const a = await requestOnce(peer, 'POST', request.path, request.headers, request.body, opts.resume ? session : undefined, opts.resume ? (s) => (session = sessions[index] = s) : undefined);
        if (a.status < 200 || a.status > 299) {
          non2xx++;
          if (!firstError) firstError = `status ${a.status}: ${a.body.slice(0, 120)}`;
          continue;
        }
        if (!opts.okBody(a.body)) {
          badBodies++;
          continue;
        }
        ok++;
        if (a.reused) resumed++;
        latencies.push(performance.now() - t0);
        if (samples.length < 8) samples.push(a.body);
      } catch (err) {
        connErrors++;
        if (!firstError) firstError = (err as Error).message;
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.loops }, (_, i) => loop(i)));
  const durationS = (performance.now() - started) / 1000;
  const gen = process.cpuUsage(genBefore);
  const genCpuS = (gen.user + gen.system) / 1e6;
  const busy = machineBusySeconds() - busyBefore;
  const after = tree();
  const cpuS = cpuSecondsBetween(cpuBefore, cpuTicks(after));
  const sorted = Float64Array.from(latencies).sort();
  const parts: string[] = [];
  if (non2xx) parts.push(`non-2xx ${non2xx}`);
  if (badBodies) parts.push(`bad bodies ${badBodies}`);
  if (connErrors) parts.push(`connection errors ${connErrors}`);
  if (firstError) parts.push(`first: ${firstError}`);
  return {
    durationS,
    ok2xx: ok,
    rate: ok / durationS,
    resumed,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: non2xx + badBodies + connErrors,
    errorDetail: parts.join('; '),
    peakRssMiB: peakRssMiB(after),
    cpuS,
    genCpuS,
    otherCpuS: Math.max(0, busy - cpuS - genCpuS),
    samples,
  };
}
