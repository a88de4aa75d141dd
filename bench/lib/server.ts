// Child server processes: spawn, readiness, stop (with their cluster workers), free ports.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { processTree } from './proc.js';
import { LOG_DIR, ROOT } from './settings.js';

// One port finder for the tests and the benchmarks.
export { freePort } from '../../test/helpers/free-port.js';

const READY_TIMEOUT_MS = 60_000;

export function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

export function basicAuth(id: string, secret: string): string {
  // RFC 6749 §2.3.1: form-urlencode both parts before Base64.
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** Servers currently running, so an unexpected exit of the driver does not leave them behind. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface SpawnSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export class ServerProcess {
  readonly child: ChildProcess;
  private stderrTail = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly fds: number[] = [];

  constructor(name: string, spec: SpawnSpec) {
    let stdout: 'ignore' | number = 'ignore';
    let stderr: 'pipe' | number = 'pipe';
    if (LOG_DIR !== undefined) {
      mkdirSync(LOG_DIR, { recursive: true });
      stdout = openSync(join(LOG_DIR, `${name}.stdout.log`), 'w');
      stderr = openSync(join(LOG_DIR, `${name}.stderr.log`), 'w');
      this.fds.push(stdout, stderr);
    }
    this.child = spawn(spec.command, spec.args, { cwd: ROOT, env: spec.env, stdio: ['ignore', stdout, stderr] });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
    });
    live.add(this.child);
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      live.delete(this.child);
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('server process did not start');
    return this.child.pid;
  }

  get exitInfo(): string | undefined {
    if (!this.exited) return undefined;
    return `exited (${this.exited.signal ?? `code ${String(this.exited.code)}`})${this.stderrTail ? `; stderr:\n${this.stderrTail}` : ''}`;
  }

  tail(): string {
    return this.stderrTail;
  }

  /** Polls `url` until it answers 200 (or, with anyStatus, any HTTP status). */
  async waitReady(url: string, anyStatus = false): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const dead = this.exitInfo;
      if (dead) throw new Error(`server ${dead}`);
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok || anyStatus) return;
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`not ready after ${READY_TIMEOUT_MS} ms (${url})${this.stderrTail ? `; stderr:\n${this.stderrTail}` : ''}`);
  }

  async stop(): Promise<void> {
    const tree = this.child.pid !== undefined && !this.exited ? processTree(this.child.pid) : [];
    if (!this.exited) {
      const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      await Promise.race([done, sleep(5000)]);
      if (!this.exited) {
        this.child.kill('SIGKILL');
        await Promise.race([done, sleep(2000)]);
      }
    }
    // Leftover descendants (e.g. cluster workers) of the server we started.
    await sleep(200);
    for (const pid of tree) {
      if (pid === this.child.pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const fd of this.fds) closeSync(fd);
    this.fds.length = 0;
  }
}
