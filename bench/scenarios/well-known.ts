// Issue 6: JWKS and authorization server metadata reads (requests/s) from d1-authz.

import { setTimeout as sleep } from 'node:timers/promises';

import { startD1, d1Unavailable } from '../lib/d1.js';
import { mdTable } from '../lib/format.js';
import { measuredLoad, runAutocannon, waitQuiet } from '../lib/load.js';
import type { MeasuredRun } from '../lib/load.js';
import { log } from '../lib/server.js';
import { CONNECTIONS, REPEAT, SECONDARY_S } from '../lib/settings.js';
import { JWKS_PATH } from '../lib/shared.js';
import type { Scenario, ScenarioOutcome } from '../lib/types.js';
import { HTTP_ALIGN, HTTP_HEAD, httpRow, runNotes } from './common.js';

const NAME = 'd1-authz-well-known';
/** RFC 8414 §3.1: the well-known segment goes before the issuer's path. */
const METADATA_PATH = '/.well-known/oauth-authorization-server/authz/d1/v1';

interface Read {
  label: string;
  path: string;
  /** Cheap per-response check of a 2xx body. */
  ok: (body: string) => boolean;
}

const READS: Read[] = [
  { label: 'JWKS', path: JWKS_PATH, ok: (b) => b.startsWith('{"keys":[') },
  { label: 'metadata', path: METADATA_PATH, ok: (b) => b.includes('"jwks_uri":"') },
];

export const wellKnownScenario: Scenario = {
  name: NAME,
  description: `d1-authz \`serve --workers 1\`: GET ${JWKS_PATH} and GET ${METADATA_PATH} (requests/s)`,
  unavailable: d1Unavailable,
  run: async (): Promise<ScenarioOutcome> => {
    const d1 = await startD1(NAME, { workers: 1 });
    const checks: string[] = [];
    const notes: string[] = [...d1.spec.notes];
    const rows: string[][] = [];
    try {
      // Pre-flight: both documents parse and agree with each other.
      const jwks = (await (await fetch(`${d1.base}${JWKS_PATH}`)).json()) as { keys?: { kty?: string; d?: unknown }[] };
      if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('JWKS has no keys');
      if (jwks.keys.some((k) => k.d !== undefined)) throw new Error('JWKS leaks a private key member');
      const meta = (await (await fetch(`${d1.base}${METADATA_PATH}`)).json()) as { issuer?: string; jwks_uri?: string };
      if (typeof meta.issuer !== 'string' || meta.jwks_uri !== `${meta.issuer}/.well-known/jwks.json`) {
        throw new Error(`metadata issuer/jwks_uri unexpected: ${JSON.stringify(meta).slice(0, 200)}`);
      }
      checks.push(`JWKS: ${jwks.keys.length} public key(s), no private members; metadata: issuer ${meta.issuer}, jwks_uri under it`);

      const maxConn = Math.max(...CONNECTIONS);
      for (const read of READS) {
        let bad = 0;
        const requests = [{ method: 'GET' as const, path: read.path, onResponse: (status: number, body: string) => {
          if (status >= 200 && status < 300 && !read.ok(body)) bad++;
        } }];
        await runAutocannon({ url: d1.base, connections: maxConn, duration: 1, requests });
        for (const connections of CONNECTIONS) {
          let best: { run: MeasuredRun; bad: number } | undefined;
          for (let i = 0; i < REPEAT; i++) {
            await sleep(300);
            await waitQuiet(NAME);
            log(`${NAME}: ${read.label} ${connections} connections x ${SECONDARY_S}s`);
            bad = 0;
            const run = await measuredLoad([d1.server.pid], { url: d1.base, connections, duration: SECONDARY_S, requests });
            const dead = d1.server.exitInfo;
            if (dead) throw new Error(`server died during load: ${dead}`);
            log(`${NAME} ${read.label} c=${connections}: ${run.rate.toFixed(0)} req/s, p99 ${run.p99.toFixed(2)} ms, errors ${run.httpErrors + bad}`);
            if (!best || run.rate > best.run.rate) best = { run, bad };
          }
          if (!best) continue;
          rows.push([read.label, ...httpRow(connections, best.run, best.bad)]);
          notes.push(...runNotes(`${read.label} c=${connections}`, best.run, best.bad));
        }
      }
    } finally {
      await d1.stop();
    }
    return {
      sections: [
        {
          title: 'JWKS and metadata reads',
          intro: `d1-authz (one process), GET keep-alive, ${SECONDARY_S} s per run; every 2xx body is checked (JWKS starts with \`{"keys":[\`, metadata has \`jwks_uri\`).`,
          table: mdTable(['document', ...HTTP_HEAD], rows, ['l', ...HTTP_ALIGN]),
        },
      ],
      checks,
      notes,
    };
  },
};
