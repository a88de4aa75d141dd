// d1-authz (the system under test), driven through its CLI exactly as an operator would:
// `migrate`, `client create`, `serve` from the build in BENCH_DIST (default dist/).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { BENCH_SCOPES, HEALTH_PATH, JWKS_PATH, TOKEN_PATH } from './shared.js';
import { freePort, log, ServerProcess } from './server.js';
import { DIST_DIR, KEEP, ROOT } from './settings.js';
import type { Credentials, LaunchSpec, TargetContext } from './types.js';

const execFileP = promisify(execFile);

export const nodeBin = process.execPath;
// The installed command (package.json "bin"): bin.cjs sizes libuv's thread pool before loading main.js.
// Builds from before it existed run main.js.
// Read at use: BENCH_BUILD=1 may build it after this module loads.
export const d1CliPath = (): string => (existsSync(join(DIST_DIR, 'cli', 'bin.cjs')) ? join(DIST_DIR, 'cli', 'bin.cjs') : join(DIST_DIR, 'cli', 'main.js'));
export const D1_CLIENT_ID = 'bench-client';

/** Import a module of the d1-authz build (e.g. 'guard/index.js'). */
export async function importDist<T>(rel: string): Promise<T> {
  return (await import(pathToFileURL(join(DIST_DIR, rel)).href)) as T;
}

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

export async function d1Unavailable(): Promise<string | null> {
  if (!existsSync(d1CliPath())) return `${d1CliPath().slice(ROOT.length + 1)} not found (run \`npm run build\`, or BENCH_BUILD=1)`;
  return null;
}

/** Output and exit code of `d1-authz <args> --help` (cached). */
const helps = new Map<string, Promise<{ code: number; text: string }>>();
export function d1Help(args: string[]): Promise<{ code: number; text: string }> {
  const key = args.join(' ');
  let p = helps.get(key);
  if (!p) {
    p = execFileP(nodeBin, [d1CliPath(), ...args, '--help'], { cwd: ROOT, timeout: 30_000 })
      .then((r) => ({ code: 0, text: `${r.stdout}${r.stderr}` }))
      .catch((err: unknown) => {
        const e = err as { stdout?: string; stderr?: string; code?: unknown };
        return { code: typeof e.code === 'number' ? e.code : 1, text: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      });
    helps.set(key, p);
  }
  return p;
}

/** Does this build's `serve` take --workers (and, unset, fork one worker per CPU)? */
export async function d1HasWorkers(): Promise<boolean> {
  return (await d1Help(['serve'])).text.includes('--workers');
}

/**
 * The environment of every d1-authz process: the defaults of the build, except the store, the
 * address, the admin listener's port and the log level. D1AUTHZ_* variables of the calling shell are
 * not passed on (a stray D1AUTHZ_SCRYPT_COST or D1AUTHZ_WORKERS would silently change what is
 * measured). The admin listener stays on, on a port of its own: the targets are up together, and
 * its default 9090 would let only one of them start.
 */
export function d1Env(ctx: { port: number; workDir: string; adminPort?: number }): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('D1AUTHZ_')));
  return {
    ...inherited,
    NODE_ENV: 'production',
    D1AUTHZ_DATABASE_URL: `sqlite:${join(ctx.workDir, 'd1.sqlite')}`,
    D1AUTHZ_HOST: '127.0.0.1',
    D1AUTHZ_PORT: String(ctx.port),
    ...(ctx.adminPort !== undefined ? { D1AUTHZ_ADMIN_PORT: String(ctx.adminPort) } : {}),
    D1AUTHZ_LOG_LEVEL: process.env['BENCH_D1_LOG_LEVEL'] ?? 'info',
  };
}

/** A free port for the admin listener, other than the token port. */
async function adminPortFor(port: number): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p !== port) return p;
  }
}

export async function d1Cli(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  try {
    const r = await execFileP(nodeBin, [d1CliPath(), ...args], { cwd: ROOT, env, timeout: 60_000, maxBuffer: 16 << 20 });
    return r.stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message?: string };
    throw new Error(`d1-authz ${args.slice(0, 2).join(' ')} failed: ${e.message ?? ''}\n${e.stderr ?? ''}${e.stdout ?? ''}`.trim(), { cause: err });
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

export interface D1Options {
  /**
   * serve processes; 1 passes `--workers 1` when the build knows the flag (else it is single-process
   * anyway); 'default' passes no --workers at all, as `npm start` and a new user do.
   */
  workers: number | 'default';
  /** Added to the environment of every d1-authz process of the target (e.g. the key provider). */
  env?: Record<string, string>;
}

/**
 * `migrate`, `client create` (one client allowed scopes `a b`, default `a`, secret hashed by the CLI
 * at the real default cost), and the `serve` command line.
 */
export async function prepareD1(ctx: TargetContext, opts: D1Options): Promise<LaunchSpec> {
  const env = { ...d1Env({ ...ctx, adminPort: await adminPortFor(ctx.port) }), ...opts.env };
  const notes: string[] = [`log level ${env['D1AUTHZ_LOG_LEVEL'] ?? '?'}`];
  if (newestMtime(join(ROOT, 'src')) > statSync(d1CliPath()).mtimeMs) {
    notes.push(`WARNING: src/ is newer than ${DIST_DIR.slice(ROOT.length + 1)}/ (stale build?)`);
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
  const args = [d1CliPath(), 'serve'];
  if (opts.workers === 'default') {
    notes.push('serve with no --workers (its default for this machine)');
  } else if (await d1HasWorkers()) {
    args.push('--workers', String(opts.workers));
    notes.push(`serve --workers ${opts.workers}`);
  } else if (opts.workers > 1) {
    throw new Error('`serve --workers` not implemented in this build');
  } else {
    notes.push('single process (this build has no --workers)');
  }
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
}

export interface RunningD1 {
  base: string;
  server: ServerProcess;
  spec: LaunchSpec;
  workDir: string;
  stop(): Promise<void>;
}

/** A ready d1-authz server in its own temp dir (for the scenarios; the token targets go through run.ts). */
export async function startD1(name: string, opts: D1Options): Promise<RunningD1> {
  const workDir = mkdtempSync(join(os.tmpdir(), `d1-bench-${name}-`));
  let server: ServerProcess | undefined;
  try {
    const port = await freePort();
    const spec = await prepareD1({ port, workDir, secret: randomBytes(32).toString('base64url'), clientId: D1_CLIENT_ID }, opts);
    server = new ServerProcess(name, spec);
    const base = `http://127.0.0.1:${port}`;
    await server.waitReady(`${base}${spec.readyPath}`);
    const running = server;
    return {
      base,
      server: running,
      spec,
      workDir,
      stop: async () => {
        await running.stop();
        if (!KEEP) rmSync(workDir, { recursive: true, force: true });
        else log(`${name}: work dir kept: ${workDir}`);
      },
    };
  } catch (err) {
    if (server) await server.stop();
    if (!KEEP) rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}
