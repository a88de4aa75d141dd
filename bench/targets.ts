// The token-endpoint targets. Each entry knows how to prepare and launch one server on a given
// port; bench/run.ts does the rest (readiness, checks, load, measurement, report). Scenarios that
// are not "drive one token endpoint" (well-known reads, guard, gateway) live in bench/scenarios/.
//
// To add a target, append a Target here and, if it should be compared against something, a
// RatioPair below.

import { join } from 'node:path';

import { compileBaselines } from './lib/compile.js';
import { d1CliPath, d1HasWorkers, d1Unavailable, nodeBin, prepareD1 } from './lib/d1.js';
import { seedClients } from './lib/seed-clients.js';
import { softHsmEnv, softHsmUnavailable } from './lib/softhsm.js';
import { CLIENTS, ROOT, SECONDARY_S } from './lib/settings.js';
import { HEALTH_PATH, JWKS_PATH, TOKEN_PATH } from './lib/shared.js';
import type { RatioGoal, RatioPair, ResponseShape, Target, TokenRequestKind } from './lib/types.js';

export type { Credentials, LaunchSpec, RatioPair, ResponseShape, Target, TargetContext, TokenMix } from './lib/types.js';
export { d1CliPath, ROOT };

function baseline(
  name: string,
  file: string,
  description: string,
  opts: { shape: ResponseShape; authenticates: boolean; extraEnv?: Record<string, string>; readyPath?: string; discovery?: boolean },
): Target {
  return {
    name,
    description,
    prepare: async (ctx) => ({
      command: nodeBin,
      // Plain JS by default (like d1-authz's dist/); BENCH_TSX=1 runs the .ts through tsx instead.
      args:
        process.env['BENCH_TSX'] === '1'
          ? ['--import', 'tsx', join('bench', 'baselines', file)]
          : [join(compileBaselines(), 'baselines', file.replace(/\.ts$/, '.js'))],
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(ctx.port),
        BENCH_CLIENT_ID: ctx.clientId,
        BENCH_CLIENT_SECRET: ctx.secret,
        ...opts.extraEnv,
      },
      readyPath: opts.readyPath ?? HEALTH_PATH,
      tokenPath: TOKEN_PATH,
      jwksUrl: opts.discovery ? jwksFromDiscovery : async (base) => `${base}${JWKS_PATH}`,
      credentials: { clientId: ctx.clientId, clientSecret: ctx.secret },
      shape: opts.shape,
      authenticates: opts.authenticates,
      notes: [],
    }),
  };
}

async function jwksFromDiscovery(base: string): Promise<string> {
  const res = await fetch(`${base}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const doc = (await res.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string') throw new Error('discovery has no jwks_uri');
  return doc.jwks_uri;
}

// ---------------------------------------------------------------------------------------------
// d1-authz (the system under test): bench/lib/d1.ts

async function d1WorkersUnavailable(workers: number): Promise<string | null> {
  const missing = await d1Unavailable();
  if (missing !== null || workers <= 1) return missing;
  return (await d1HasWorkers()) ? null : '`serve --workers` not implemented yet';
}

function d1Target(name: string, workers: number): Target {
  return {
    name,
    description: `d1-authz \`serve --workers ${workers}\` (SQLite, temp dir)`,
    unavailable: () => d1WorkersUnavailable(workers),
    prepare: (ctx) => prepareD1(ctx, { workers }),
  };
}

/**
 * `serve` exactly as a new user starts it (`npm start`): no --workers, so the number of processes is
 * the build's default for this machine. Secondary length: it only has to show the default is not the
 * slower or heavier choice against `--workers 1` in the same run.
 */
function d1DefaultsTarget(): Target {
  return {
    name: 'd1-authz-defaults',
    description: 'd1-authz `serve` with no `--workers` (its default: one process up to 2 CPUs), SQLite, temp dir',
    durationS: SECONDARY_S,
    unavailable: d1Unavailable,
    prepare: (ctx) => prepareD1(ctx, { workers: 'default' }),
  };
}

/**
 * The audit trail is on by default (and so is d1-authz's row above): the same server with it off shows
 * what it costs, and with D1AUTHZ_AUDIT_SYNC=true (each token's row committed before the answer) what
 * that choice costs.
 */
function d1AuditTarget(name: string, env: Record<string, string>, what: string): Target {
  return {
    name,
    description: `d1-authz \`serve --workers 1\`, ${what}`,
    unavailable: d1Unavailable,
    prepare: async (ctx) => {
      const spec = await prepareD1(ctx, { workers: 1 });
      Object.assign(spec.env, env);
      return { ...spec, notes: [...spec.notes, Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')] };
    },
  };
}

/** The signing key in a SoftHSM2 token (D1AUTHZ_KEY_PROVIDER=pkcs11) instead of sealed in the store. */
function d1HsmTarget(): Target {
  return {
    name: 'd1-authz-hsm',
    description: 'd1-authz `serve --workers 1`, ES256 key generated and used in a SoftHSM2 token (pkcs11 provider)',
    unavailable: async () => (await d1Unavailable()) ?? (await softHsmUnavailable()),
    prepare: async (ctx) => {
      const spec = await prepareD1(ctx, { workers: 1, env: softHsmEnv(ctx.workDir) });
      return { ...spec, notes: [...spec.notes, 'key provider pkcs11 on SoftHSM2 (software token: measures the provider path, not a hardware HSM)'] };
    },
  };
}

const form = (scope: string): string => `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`;

/** Issue 6: requests alternating scope=a, scope=b, scope=a b, for a client allowed `a b`. */
function d1ScopesTarget(): Target {
  const sequence: TokenRequestKind[] = ['a', 'b', 'a b'].map((s) => ({ body: form(s), expectScope: s }));
  return {
    name: 'd1-authz-scopes',
    description: 'd1-authz `serve --workers 1`, one client allowed `a b`, each connection cycling scope=a, scope=b, scope=a b',
    unavailable: d1Unavailable,
    durationS: SECONDARY_S,
    prepare: async (ctx) => {
      const spec = await prepareD1(ctx, { workers: 1 });
      return { ...spec, mix: { describe: 'scope=a, scope=b, scope=a b in turn; every 2xx must grant exactly the requested scope', sequence } };
    },
  };
}

/**
 * Issue 6: BENCH_CLIENTS (10,000) registered clients, requests spread round-robin over all of them.
 * Cold pass = each client's first request (one scrypt at the real default cost each); warm = every
 * client verified once already.
 */
function d1ManyClientsTarget(): Target {
  return {
    name: 'd1-authz-10k-clients',
    description: `d1-authz \`serve --workers 1\`, ${CLIENTS.toLocaleString('en-US')} registered clients, requests spread round-robin over them (cold pass, then warm)`,
    unavailable: d1Unavailable,
    optIn:
      `its cold pass is ${CLIENTS.toLocaleString('en-US')} scrypt verifications at the default cost (0.1-0.25 CPU s each on the 2-core bench machine), ` +
      'alone at or beyond the 10-minute budget of the default run; run it with BENCH_ONLY=d1-authz,d1-authz-10k-clients',
    prepare: async (ctx) => {
      const spec = await prepareD1(ctx, { workers: 1 });
      // The cold pass of 10,000 clients takes longer than the default 300 s credential cache TTL on a
      // small machine: keep every verification cached for the longest allowed time, so the warm
      // runs are warm. (This only sets how long a verified secret is remembered, not its cost.)
      const ttlS = 3600;
      spec.env['D1AUTHZ_CREDENTIAL_CACHE_TTL'] = String(ttlS);
      const url = spec.env['D1AUTHZ_DATABASE_URL'];
      if (url === undefined) throw new Error('no D1AUTHZ_DATABASE_URL');
      const seeded = await seedClients(url, spec.credentials.clientId, CLIENTS, `${spec.credentials.clientId}-`);
      const notes = [
        ...spec.notes,
        `D1AUTHZ_CREDENTIAL_CACHE_TTL=${ttlS} (default 300 s): the cold pass alone may outlast the default TTL`,
        `${seeded.clientIds.length} clients written in ${seeded.seconds.toFixed(1)} s through the store (openStore + Kysely), ` +
          `all sharing one secret hash made by \`client create\` at scrypt ln=${seeded.scryptCost}` +
          (seeded.scryptCost === 15 ? ' (the default cost)' : ' (WARNING: not the default 15)'),
      ];
      return {
        ...spec,
        notes,
        mix: {
          describe: `round-robin over ${seeded.clientIds.length} clients (one counter shared by all connections)`,
          spread: seeded.clientIds.map((clientId) => ({ clientId, clientSecret: spec.credentials.clientSecret })),
          coldPass: true,
          credentialCacheTtlS: ttlS,
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------

export const TARGETS: Target[] = [
  baseline('bare-fastify', 'bare-fastify.ts', 'Fastify 5, constant pre-signed token body, no auth (framework ceiling)', {
    shape: 'd1',
    authenticates: false,
  }),
  baseline('floor', 'floor-node-http.ts', 'node:http + node:crypto: Basic auth, form parse, ES256 sign (floor of real work)', {
    shape: 'd1',
    authenticates: true,
    extraEnv: { WORKERS: '1' },
  }),
  baseline('floor-2w', 'floor-node-http.ts', 'floor, node:cluster with 2 workers', {
    shape: 'd1',
    authenticates: true,
    extraEnv: { WORKERS: '2' },
  }),
  baseline('oidc-provider', 'oidc-provider.ts', 'oidc-provider 9, client_credentials, ES256 JWT access tokens, in-memory', {
    shape: 'rfc6749',
    authenticates: true,
    readyPath: '/.well-known/openid-configuration',
    discovery: true,
  }),
  d1Target('d1-authz', 1),
  d1Target('d1-authz-2w', 2),
  d1DefaultsTarget(),
  d1ScopesTarget(),
  d1AuditTarget('d1-authz-audit-off', { D1AUTHZ_AUDIT: 'false' }, 'audit trail of requests off (D1AUTHZ_AUDIT=false)'),
  d1AuditTarget('d1-authz-audit-sync', { D1AUTHZ_AUDIT_SYNC: 'true' }, "each token's audit row committed before the answer (D1AUTHZ_AUDIT_SYNC=true)"),
  d1HsmTarget(),
  d1ManyClientsTarget(),
];

const tokensAtLeast = (x: number): RatioGoal => ({
  text: `tokens/s ≥ ${x.toFixed(2)}x`,
  met: (a, b) => a.tokensPerSec >= x * b.tokensPerSec,
});
const noErrors: RatioGoal = { text: 'zero errors', met: (a) => a.errors === 0 };

// The targets of issue 6, checked in every run.
export const RATIO_PAIRS: RatioPair[] = [
  { numerator: 'd1-authz', denominator: 'oidc-provider', goals: [tokensAtLeast(3)] },
  {
    numerator: 'd1-authz',
    denominator: 'floor',
    goals: [tokensAtLeast(1), { text: "p99 ≤ floor's", connections: 64, met: (a, b) => a.p99 <= b.p99 }, noErrors],
  },
  { numerator: 'd1-authz', denominator: 'bare-fastify' },
  { numerator: 'd1-authz-2w', denominator: 'floor-2w', goals: [tokensAtLeast(1), noErrors] },
  { numerator: 'd1-authz-2w', denominator: 'd1-authz' },
  { numerator: 'd1-authz-scopes', denominator: 'd1-authz' },
  // What a new user runs: never slower than one process, and the product's bar against oidc-provider.
  { numerator: 'd1-authz-defaults', denominator: 'd1-authz', goals: [tokensAtLeast(1), noErrors] },
  { numerator: 'd1-authz-defaults', denominator: 'oidc-provider', goals: [tokensAtLeast(3), noErrors] },
  // Issue 12: the audit trail (on by default) costs under 10% of tokens/s.
  { numerator: 'd1-authz', denominator: 'd1-authz-audit-off', goals: [tokensAtLeast(0.9), noErrors] },
  { numerator: 'd1-authz-audit-sync', denominator: 'd1-authz' },
  // Signing in the HSM against signing in the process, same run, same machine.
  { numerator: 'd1-authz-hsm', denominator: 'd1-authz' },
  // 10,000 warm clients within 10% of the one-client figure: measured on the same server with the same
  // load generator path (swapping the Authorization per request costs the generator CPU on shared cores).
  { numerator: 'd1-authz-10k-clients (warm)', denominator: 'd1-authz-10k-clients (one client)', goals: [tokensAtLeast(0.9), noErrors] },
  { numerator: 'd1-authz-10k-clients (warm)', denominator: 'd1-authz' },
];
