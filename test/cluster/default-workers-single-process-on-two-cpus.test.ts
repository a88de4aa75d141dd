/**
 * `serve` with neither --workers nor D1AUTHZ_WORKERS: a single process on up to 2 CPUs (one process
 * already keeps two cores busy, a cluster there is slower and heavier), one worker per CPU beyond.
 * Read from the running server: its "listening" line and its process tree.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { defaultWorkers } from '../../src/cluster/default-workers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { sleep } from '../helpers/wait.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Direct children of pid (Linux /proc). */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('serve default worker count', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  it('is one process up to 2 CPUs and one per CPU beyond', () => {
    assert.deepEqual([1, 2, 3, 4, 16].map(defaultWorkers), [1, 1, 3, 4, 16]);
  });

  it('the running server, started without --workers or D1AUTHZ_WORKERS, runs the default for this machine', async () => {
    const port = await freePort();
    const env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_PORT: String(port), D1AUTHZ_HOST: '127.0.0.1' });
    assert.equal((await runCli(['migrate'], env)).code, 0);
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 180_000; // a cluster on a big machine compiles the sources once per worker (tsx)
      while (!/d1-authz listening/.test(output)) {
        if (child.exitCode !== null) throw new Error(`serve exited: ${output}`);
        if (Date.now() > deadline) throw new Error(`serve did not start: ${output}`);
        await sleep(100);
      }
      const line = JSON.parse(output.split('\n').find((l) => l.includes('d1-authz listening'))!) as { workers?: number };
      const expected = defaultWorkers(availableParallelism());
      assert.equal(line.workers, expected, 'the listening line names the worker count');
      // tsx runs in-process (--import): a single process has no node children; a cluster has one per worker.
      const nodeChildren = children(child.pid!).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('node'));
      assert.equal(nodeChildren.length, expected === 1 ? 0 : expected);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
