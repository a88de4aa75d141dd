/** Runs the real CLI (`d1-authz ...`) as a child process, as an operator would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from './database.js';
import { sleep } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The newest modification time under `dir` (ms). */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/**
 * The installed command (package.json "bin", built by `npm run build`, which `npm ci` runs), when the
 * build is newer than every source file; otherwise the sources through tsx. Both size libuv's thread
 * pool, then load main. The build starts in a fraction of the time, which the many CLI runs add up.
 */
const BUILT = join(ROOT, 'dist', 'cli', 'bin.cjs');
const useBuild = existsSync(BUILT) && statSync(BUILT).mtimeMs >= Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'packages', 'guard', 'src')));
const MAIN = useBuild ? BUILT : fileURLToPath(new URL('../../src/cli/bin.cts', import.meta.url));
const LOADER = useBuild ? [] : ['--import', 'tsx'];

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function cliEnv(databaseUrl: string, masterKey: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', D1AUTHZ_DATABASE_URL: databaseUrl, D1AUTHZ_MASTER_KEY: masterKey, ...extra };
}

/** A fresh test database migrated by the CLI (CLI commands use an existing store, they never create one), and the env that reaches it. */
export async function migratedCliDatabase(): Promise<{ db: TestDatabase; env: Record<string, string> }> {
  const db = await createTestDatabase();
  const env = cliEnv(db.url, randomBytes(32).toString('base64'));
  const migrated = await runCli(['migrate'], env);
  if (migrated.code !== 0) throw new Error(`migrate exited ${migrated.code}: ${migrated.stderr}`);
  return { db, env };
}

export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER, MAIN, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly origin: string;
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `d1-authz serve` and waits until /healthz answers. A single process unless the env
 * (D1AUTHZ_WORKERS) or the args (--workers N) ask for a cluster: the product default (one worker
 * per CPU) would multiply start-up time in tests that are not about the cluster.
 */
export async function spawnServe(env: Record<string, string>, port: number, args: string[] = [], options: { startTimeoutMs?: number } = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...LOADER, MAIN, 'serve', ...args], {
    // The admin listener's default port (9090) would collide between the servers of one test: off unless asked for.
    env: { D1AUTHZ_WORKERS: '1', D1AUTHZ_ADMIN_PORT: '0', ...env, D1AUTHZ_PORT: String(port) },
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000); // generous: start-up takes tens of seconds on a loaded machine
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}: ${output}`);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not start: ${output}`);
    }
    await sleep(100);
  }
  return {
    child,
    origin,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs the CLI and SIGKILLs it the moment `acknowledged(stdout)` holds: the operator has seen the
 * acknowledgement, the process gets no chance to do anything after it (durability tests).
 */
export function runCliKilledAfterAck(args: string[], env: Record<string, string>, acknowledged: (stdout: string) => boolean): Promise<CliResult & { killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER, MAIN, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!killed && acknowledged(stdout)) killed = child.kill('SIGKILL');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, killed }));
  });
}
