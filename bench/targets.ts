// The list of benchmark targets. Each entry knows how to prepare and launch one server on a given
// port; bench/run.ts does the rest (readiness, checks, load, measurement, report).
//
// To add a scenario (guard verification, gateway, 10,000 clients, ...), append a Target here and,
// if it should be compared against something, a RatioPair below.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { compileBaselines } from './lib/compile.js';
import { BENCH_SCOPES, HEALTH_PATH, JWKS_PATH, TOKEN_PATH } from './lib/shared.js';

const execFileP = promisify(execFile);

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const D1_CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** 'd1': the D1 JSON (expires_in "900" string, expires_at ISO); 'rfc6749': standard OAuth JSON. */
export type ResponseShape = 'd1' | 'rfc6749';

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

export interface TargetContext {
  /** Free port on 127.0.0.1 the server must listen on. */
  port: number;
  /** Private temporary directory for this target (deleted afterwards unless BENCH_KEEP=1). */
  workDir: string;
  /** A fresh 43-char base64url client secret. */
  secret: string;
  clientId: string;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** GET path answering 200 once the server is ready. */
  readyPath: string;
  tokenPath: string;
  /** Resolve the JWKS URL (e.g. via discovery) once the server is up. */
  jwksUrl: (baseUrl: string) => Promise<string>;
  credentials: Credentials;
  shape: ResponseShape;
  /** Does the server reject a wrong client secret? (false only for the constant-answer ceiling) */
  authenticates: boolean;
  /** Free-form facts worth printing next to the results (log level, workers, ...). */
  notes: string[];
}

export interface Target {
  name: string;
  description: string;
  /** Reason to skip on this machine/checkout, or null when runnable. */
  unavailable?: () => Promise<string | null>;
  prepare: (ctx: TargetContext) => Promise<LaunchSpec>;
}

export interface RatioPair {
  numerator: string;
  denominator: string;
}

const nodeBin = process.execPath;

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
// d1-authz (the system under test), driven through its CLI exactly as an operator would.

function newestMtime(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (entry.isFile()) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

async function d1Unavailable(): Promise<string | null> {
  if (!existsSync(D1_CLI)) return 'dist/cli/main.js not found (run `npm run build`, or BENCH_BUILD=1)';
  return null;
}

let serveHelp: Promise<string> | undefined;
function d1ServeHelp(): Promise<string> {
  serveHelp ??= execFileP(nodeBin, [D1_CLI, 'serve', '--help'], { cwd: ROOT, timeout: 30_000 })
    .then((r) => `${r.stdout}${r.stderr}`)
    .catch((err: unknown) => {
      const e = err as { stdout?: string; stderr?: string };
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    });
  return serveHelp;
}

function d1Env(ctx: TargetContext): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    D1AUTHZ_DATABASE_URL: `sqlite:${join(ctx.workDir, 'd1.sqlite')}`,
    D1AUTHZ_HOST: '127.0.0.1',
    D1AUTHZ_PORT: String(ctx.port),
    D1AUTHZ_LOG_LEVEL: process.env['BENCH_D1_LOG_LEVEL'] ?? 'info',
  };
}

async function d1Cli(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  try {
    const r = await execFileP(nodeBin, [D1_CLI, ...args], { cwd: ROOT, env, timeout: 60_000, maxBuffer: 16 << 20 });
    return r.stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message?: string };
    throw new Error(`d1-authz ${args.slice(0, 2).join(' ')} failed: ${e.message ?? ''}\n${e.stderr ?? ''}${e.stdout ?? ''}`.trim());
  }
}

/** `client create --json` prints {"client_id","client_secret"}; log lines may surround it. */
function parseCreatedClient(stdout: string): Credentials {
  const candidates = [stdout, ...stdout.split('\n')];
  for (const text of candidates) {
    try {
      const v = JSON.parse(text) as { client_id?: unknown; client_secret?: unknown };
      if (typeof v.client_id === 'string' && typeof v.client_secret === 'string') {
        return { clientId: v.client_id, clientSecret: v.client_secret };
      }
    } catch {
      // not this one
    }
  }
  throw new Error(`could not find {client_id, client_secret} in client create output:\n${stdout}`);
}

function d1Target(name: string, workers: number): Target {
  return {
    name,
    description:
      workers > 1
        ? `d1-authz \`serve --workers ${workers}\` (SQLite, temp dir)`
        : 'd1-authz `serve` (SQLite, temp dir)',
    unavailable: async () => {
      const missing = await d1Unavailable();
      if (missing !== null || workers <= 1) return missing;
      const help = await d1ServeHelp();
      return help.includes('--workers') ? null : '`serve --workers` not implemented yet';
    },
    prepare: async (ctx) => {
      const env = d1Env(ctx);
      const notes: string[] = [`log level ${env['D1AUTHZ_LOG_LEVEL'] ?? '?'}`];
      if (newestMtime(join(ROOT, 'src')) > statSync(D1_CLI).mtimeMs) {
        notes.push('WARNING: src/ is newer than dist/ (stale build?)');
      }
      await d1Cli(env, ['migrate']);
      const out = await d1Cli(env, [
        'client',
        'create',
        ctx.clientId,
        '--secret',
        ctx.secret,
        '--force',
        '--scopes',
        BENCH_SCOPES.join(' '),
        '--default-scopes',
        BENCH_SCOPES[0],
        '--json',
      ]);
      const credentials = parseCreatedClient(out);
      const args = [D1_CLI, 'serve'];
      if (workers > 1) args.push('--workers', String(workers));
      return {
        command: nodeBin,
        args,
        env,
        readyPath: HEALTH_PATH,
        tokenPath: TOKEN_PATH,
        jwksUrl: async (base) => `${base}${JWKS_PATH}`,
        credentials,
        shape: 'd1',
        authenticates: true,
        notes,
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
];

export const RATIO_PAIRS: RatioPair[] = [
  { numerator: 'd1-authz', denominator: 'oidc-provider' },
  { numerator: 'd1-authz', denominator: 'floor' },
  { numerator: 'd1-authz', denominator: 'bare-fastify' },
  { numerator: 'd1-authz-2w', denominator: 'floor-2w' },
];

export { D1_CLI };
