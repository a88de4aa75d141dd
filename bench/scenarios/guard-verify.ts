// Issue 6: guard verification micro-benchmark (no HTTP on the measured path).
//
// createGuard from the d1-authz build, pointed at a running d1-authz's issuer and JWKS, verifies
// real tokens from that server in a tight sequential loop (await per call) in this process:
//   - hit:        the same token again and again (verified-token cache, default size)
//   - miss:       cacheMaxEntries 0, rotating over BENCH_GUARD_TOKENS distinct tokens (full verification every call)
//   - first sight: default cache, each distinct token once (full verification + cache insert)
// next to a bare node:crypto ES256 verify of the same tokens (split, base64url-decode, crypto.verify
// with dsaEncoding 'ieee-p1363' on a KeyObject), with and without the claim checks a verifier must do.

import { createPublicKey, verify as cryptoVerify, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import type * as GuardModule from '@d1-authz/guard';
import { d1Unavailable, importDist, startD1 } from '../lib/d1.js';
import { fmt, mdTable } from '../lib/format.js';
import { isNoisy } from '../lib/load.js';
import { machineBusySeconds } from '../lib/proc.js';
import { log } from '../lib/server.js';
import { DIST_DIR, GUARD_S, GUARD_TOKENS, REPEAT } from '../lib/settings.js';
import { JWKS_PATH } from '../lib/shared.js';
import type { Scenario, ScenarioOutcome } from '../lib/types.js';
import { fetchToken, jwtPart } from './common.js';

const NAME = 'guard-verify';
const FETCH_CONCURRENCY = 16;

interface Timing {
  n: number;
  seconds: number;
  /** CPU seconds of this process during the loop. */
  cpuS: number;
  /** Busy CPU on the machine beyond this process (noise). */
  otherCpuS: number;
}

async function timed(loop: () => Promise<number>): Promise<Timing> {
  const busy0 = machineBusySeconds();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await loop();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { n, seconds, cpuS, otherCpuS: Math.max(0, machineBusySeconds() - busy0 - cpuS) };
}

/** Calls fn(i) (awaited) for about `seconds`, checking the clock every 64 calls; returns the count. */
async function forSecondsAsync(seconds: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 64; k++) await fn(i++);
  }
  return i;
}

function forSecondsSync(seconds: number, fn: (i: number) => unknown): number {
  const end = performance.now() + seconds * 1000;
  let i = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 64; k++) fn(i++);
  }
  return i;
}

async function fetchTokens(base: string, credentials: { clientId: string; clientSecret: string }, n: number): Promise<string[]> {
  const tokens: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: FETCH_CONCURRENCY }, async () => {
      while (next < n) {
        next++;
        tokens.push(await fetchToken(base, credentials, 'a'));
      }
    }),
  );
  return tokens;
}

export const guardScenario: Scenario = {
  name: NAME,
  description: 'guard (createGuard from the build) verifying real d1-authz tokens in-process: cache hit, miss, vs bare node:crypto ES256 verify',
  unavailable: d1Unavailable,
  run: async (): Promise<ScenarioOutcome> => {
    // dist/guard.js re-exports the guard package; builds from before it had the guard in dist/guard/.
    const { createGuard } = await importDist<typeof GuardModule>(existsSync(join(DIST_DIR, 'guard.js')) ? 'guard.js' : 'guard/index.js');
    const d1 = await startD1(NAME, { workers: 1 });
    const checks: string[] = [];
    const notes: string[] = [...d1.spec.notes];
    let tokens: string[];
    let jwks: { keys: (JsonWebKey & { kid?: string })[] };
    try {
      const t0 = Date.now();
      tokens = await fetchTokens(d1.base, d1.spec.credentials, GUARD_TOKENS);
      jwks = (await (await fetch(`${d1.base}${JWKS_PATH}`)).json()) as typeof jwks;
      log(`${NAME}: ${tokens.length} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      await d1.stop();
      throw err;
    }
    // The guards fetch the JWKS once at their first verification; the server stays up until then.
    const header = jwtPart(tokens[0] ?? '', 0);
    const payload = jwtPart(tokens[0] ?? '', 1);
    const issuer = String(payload['iss']);
    const audience = Array.isArray(payload['aud']) ? String(payload['aud'][0]) : String(payload['aud']);
    const jwksUri = `${d1.base}${JWKS_PATH}`;
    if (new Set(tokens).size !== tokens.length) throw new Error('tokens are not distinct');
    if (!tokens.every((t) => jwtPart(t, 0)['kid'] === header['kid'])) throw new Error('tokens signed by more than one key');
    const jwk = jwks.keys.find((k) => k.kid === header['kid']);
    if (!jwk) throw new Error(`kid ${String(header['kid'])} not in the JWKS`);
    const key: KeyObject = createPublicKey({ key: jwk, format: 'jwk' });

    const hitGuard = createGuard({ issuer, audience, jwksUri });
    const missGuard = createGuard({ issuer, audience, jwksUri, cacheMaxEntries: 0 });
    const firstGuard = createGuard({ issuer, audience, jwksUri, cacheMaxEntries: Math.max(10_000, tokens.length) });
    const headers = tokens.map((t) => `Bearer ${t}`);
    const hit = headers[0] ?? '';
    try {
      // JWKS fetched and cached by each guard; the first token sits in the hit and first-sight caches.
      for (const g of [hitGuard, missGuard, firstGuard]) {
        const v = await g.verify(hit, { requiredScopes: ['a'] });
        if (v.clientId !== d1.spec.credentials.clientId) throw new Error(`guard verified client ${v.clientId}`);
      }
    } finally {
      await d1.stop();
    }
    checks.push(`${tokens.length} distinct tokens from one d1-authz, all verified by the guard (iss ${issuer}, aud ${audience}, scope a required)`);

    const nTok = tokens.length;
    const bare = (i: number): boolean => {
      const t = tokens[i % nTok] ?? '';
      const dot2 = t.lastIndexOf('.');
      return cryptoVerify('sha256', Buffer.from(t.slice(0, dot2)), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(t.slice(dot2 + 1), 'base64url'));
    };
    const nowS = (): number => Date.now() / 1000;
    const bareClaims = (i: number): boolean => {
      const t = tokens[i % nTok] ?? '';
      const [h, p, s] = t.split('.');
      if (h === undefined || p === undefined || s === undefined) return false;
      const hd = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string; typ?: string };
      if (hd.alg !== 'ES256' || hd.typ !== 'at+jwt') return false;
      if (!cryptoVerify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) return false;
      const c = JSON.parse(Buffer.from(p, 'base64url').toString()) as { iss?: string; aud?: string | string[]; exp?: number; scope?: string };
      const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
      return c.iss === issuer && aud.includes(audience) && typeof c.exp === 'number' && c.exp > nowS() && (c.scope ?? '').split(' ').includes('a');
    };
    if (!tokens.every((_, i) => bare(i) && bareClaims(i))) throw new Error('bare verification refused a token');
    // The same signature check through WebCrypto (what jose uses under the guard): async, off-thread.
    const cryptoKey = await webcrypto.subtle.importKey('jwk', jwk as webcrypto.JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
    const bareSubtle = async (i: number): Promise<boolean> => {
      const t = tokens[i % nTok] ?? '';
      const dot2 = t.lastIndexOf('.');
      return webcrypto.subtle.verify(ecdsa, cryptoKey, Buffer.from(t.slice(dot2 + 1), 'base64url'), Buffer.from(t.slice(0, dot2)));
    };
    if (!(await bareSubtle(0))) throw new Error('WebCrypto verification refused a token');

    type Variant = { label: string; what: string; run: (seconds: number) => Promise<number> };
    let firstSightNext = 1;
    const variants: Variant[] = [
      {
        label: 'guard, cache hit',
        what: 'same token every call (default cache)',
        run: (s) => forSecondsAsync(s, () => hitGuard.verify(hit, { requiredScopes: ['a'] })),
      },
      {
        label: 'guard, cache miss',
        what: `cacheMaxEntries 0, ${nTok} distinct tokens in turn`,
        run: (s) => forSecondsAsync(s, (i) => missGuard.verify(headers[i % nTok], { requiredScopes: ['a'] })),
      },
      {
        label: 'guard, first sight',
        what: `default cache, each of ${nTok - 1} tokens once (verify + insert)`,
        // One pass, not time-boxed: a token seen once is a hit the second time.
        run: async () => {
          const start = firstSightNext;
          for (; firstSightNext < nTok; firstSightNext++) await firstGuard.verify(headers[firstSightNext], { requiredScopes: ['a'] });
          return firstSightNext - start;
        },
      },
      { label: 'bare ES256 verify', what: 'split, base64url, crypto.verify (ieee-p1363, KeyObject)', run: async (s) => forSecondsSync(s, bare) },
      {
        label: 'bare WebCrypto ES256 verify',
        what: 'split, base64url, await crypto.subtle.verify (CryptoKey), as jose does',
        run: (s) => forSecondsAsync(s, bareSubtle),
      },
      {
        label: 'bare ES256 + claims',
        what: 'bare + JSON header/payload, alg/typ/iss/aud/exp/scope checks',
        run: async (s) => forSecondsSync(s, bareClaims),
      },
    ];

    const best = new Map<string, Timing>();
    for (let round = 0; round < REPEAT; round++) {
      for (const v of variants) {
        if (v.label === 'guard, first sight' && round > 0) continue;
        if (v.label !== 'guard, first sight') await v.run(0.3); // JIT warm-up
        const t = await timed(() => v.run(GUARD_S));
        const rate = t.n / t.seconds;
        log(`${NAME}: ${v.label}: ${rate.toFixed(0)}/s (${t.n} in ${t.seconds.toFixed(2)} s)`);
        const prev = best.get(v.label);
        if (!prev || rate > prev.n / prev.seconds) best.set(v.label, t);
      }
    }
    const stats = { hit: hitGuard.stats(), miss: missGuard.stats(), first: firstGuard.stats() };
    if (stats.hit.signatureVerifications !== 1) notes.push(`hit guard ran ${stats.hit.signatureVerifications} signature verifications (want 1)`);
    if (stats.miss.cacheHits !== 0) notes.push(`miss guard had ${stats.miss.cacheHits} cache hits (want 0)`);
    if (stats.first.cacheHits !== 0) notes.push(`first-sight guard had ${stats.first.cacheHits} cache hits (want 0)`);
    checks.push(
      `guard stats: hit guard ${stats.hit.cacheHits} hits / ${stats.hit.signatureVerifications} signature verification; ` +
        `miss guard ${stats.miss.signatureVerifications} signature verifications, ${stats.miss.cacheHits} hits; ` +
        `first-sight guard ${stats.first.signatureVerifications} signature verifications, ${stats.first.cacheHits} hits`,
    );

    const rateOf = (label: string): number => {
      const t = best.get(label);
      return t ? t.n / t.seconds : Number.NaN;
    };
    const rows = variants.map((v) => {
      const t = best.get(v.label);
      if (!t) return [v.label, v.what, '', '', '', '', ''];
      const rate = t.n / t.seconds;
      if (isNoisy(t.otherCpuS, t.seconds)) notes.push(`${v.label}: (!) ${fmt(t.otherCpuS, 2)} CPU s used by other processes; numbers disturbed`);
      return [
        v.label,
        v.what,
        fmt(rate),
        fmt(1e6 / rate, 1),
        fmt(t.n),
        `${fmt(t.otherCpuS, 2)}${isNoisy(t.otherCpuS, t.seconds) ? ' (!)' : ''}`,
      ];
    });
    const hitRate = rateOf('guard, cache hit');
    const cost = (a: string, b: string): string => {
      const r = rateOf(b) / rateOf(a);
      return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
    };
    const missOverBare = rateOf('bare ES256 verify') / rateOf('guard, cache miss');
    const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    const ratioRows = [
      ['guard miss / bare ES256 verify', cost('guard, cache miss', 'bare ES256 verify'), `≤ 1.20x: ${verdict(missOverBare <= 1.2)}`],
      ['guard miss / bare ES256 + claims', cost('guard, cache miss', 'bare ES256 + claims'), ''],
      ['guard first sight / bare ES256 verify', cost('guard, first sight', 'bare ES256 verify'), ''],
      ['guard miss / bare WebCrypto ES256 verify', cost('guard, cache miss', 'bare WebCrypto ES256 verify'), ''],
      ['bare WebCrypto / bare node:crypto ES256 verify', cost('bare WebCrypto ES256 verify', 'bare ES256 verify'), ''],
      ['guard hit: verifications/s', fmt(hitRate), `≥ 100,000/s: ${verdict(hitRate >= 100_000)}`],
    ];
    return {
      sections: [
        {
          title: 'Guard verification (in-process, no HTTP)',
          intro:
            `createGuard from the build, real ES256 tokens of one d1-authz (JWKS fetched once), sequential \`await guard.verify('Bearer …', { requiredScopes: ['a'] })\` ` +
            `in the driver process, ${GUARD_S} s per variant after a 0.3 s warm-up${REPEAT > 1 ? `, best of ${REPEAT}` : ''}; one core.`,
          table: mdTable(['variant', 'what', 'verifications/s', 'µs each', 'calls', 'other CPU s'], rows, ['l', 'l', 'r', 'r', 'r', 'r']),
        },
        {
          title: 'Guard ratios (time per verification)',
          table: mdTable(['pair', 'value', 'goal'], ratioRows, ['l', 'r', 'l']),
        },
      ],
      checks,
      notes,
    };
  },
};
