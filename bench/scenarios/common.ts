// Helpers shared by the scenarios: a table row for a measured HTTP run, tokens from a d1-authz.

import { fmt } from '../lib/format.js';
import { isNoisy } from '../lib/load.js';
import type { MeasuredRun } from '../lib/load.js';
import { basicAuth } from '../lib/server.js';
import { TOKEN_PATH } from '../lib/shared.js';
import type { Credentials } from '../lib/types.js';

export const HTTP_HEAD = [
  'conns',
  'req/s',
  'p50 ms',
  'p99 ms',
  'p99.9 ms',
  'errors',
  'peak RSS MiB',
  'server CPU s',
  'CPU ms/1k req',
  'loadgen CPU s',
  'other CPU s',
];
export const HTTP_ALIGN: ('l' | 'r')[] = HTTP_HEAD.map(() => 'r');

/** `badBodies`: 2xx answers whose body failed the scenario's check (counted as errors). */
export function httpRow(connections: number, run: MeasuredRun, badBodies: number): string[] {
  return [
    String(connections),
    fmt(run.rate),
    fmt(run.p50, 2),
    fmt(run.p99, 2),
    fmt(run.p999, 2),
    fmt(run.httpErrors + badBodies),
    fmt(run.peakRssMiB, 1),
    fmt(run.cpuS, 2),
    fmt(run.ok2xx > 0 ? (run.cpuS * 1e6) / run.ok2xx : Number.NaN, 1),
    fmt(run.genCpuS, 2),
    `${fmt(run.otherCpuS, 2)}${isNoisy(run.otherCpuS, run.durationS) ? ' (!)' : ''}`,
  ];
}

/** Notes for a run: its errors, and a noise flag. */
export function runNotes(label: string, run: MeasuredRun, badBodies: number): string[] {
  const notes: string[] = [];
  const parts = [...run.httpErrorParts];
  if (badBodies) parts.push(`bad bodies ${badBodies}`);
  if (parts.length > 0) notes.push(`${label}: ${parts.join('; ')}`);
  if (isNoisy(run.otherCpuS, run.durationS)) {
    notes.push(`${label}: (!) ${fmt(run.otherCpuS, 2)} CPU s used by other processes during the run; numbers disturbed`);
  }
  return notes;
}

export async function fetchToken(base: string, credentials: Credentials, scope: string): Promise<string> {
  const res = await fetch(`${base}${TOKEN_PATH}`, {
    method: 'POST',
    headers: {
      authorization: basicAuth(credentials.clientId, credentials.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token request answered ${res.status}: ${text.slice(0, 200)}`);
  const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string') throw new Error(`no access_token in ${text.slice(0, 200)}`);
  return token;
}

/** The decoded header or payload (part 0 or 1) of a compact JWS. */
export function jwtPart(token: string, part: 0 | 1): Record<string, unknown> {
  const seg = token.split('.')[part];
  if (seg === undefined) throw new Error('not a compact JWS');
  return JSON.parse(Buffer.from(seg, 'base64url').toString('utf8')) as Record<string, unknown>;
}
