/**
 * The server's log lines are written by the event loop, not queued on libuv's thread pool: there they
 * waited behind every token signature and slow hash in the queue, and the lines waiting were promoted
 * to V8's old generation (the heap of a busy server grew by the log's volume between full
 * collections). With the pool full of slow hashes, a flushed line is in the log file at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const fixture = fileURLToPath(new URL('./fixtures/log-while-pool-busy.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'd1authz-log-pool-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('log writes and the thread pool', () => {
  it('a flushed line is in the log file while the pool is still busy with slow hashes', async () => {
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '2' },
      stdio: ['ignore', fd, 'pipe'],
    });
    closeSync(fd);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, stderr);
    const m = /stdout-bytes (\d+) hashes-running (\d+)/.exec(stderr);
    assert.ok(m, stderr);
    assert.equal(Number(m[2]), 2, 'both hashes were still running when the file was looked at');
    assert.ok(Number(m[1]) > 0, 'the line was written while the pool was busy, not queued behind it');
    const line = JSON.parse(readFileSync(file, 'utf8').trim()) as { msg: string };
    assert.equal(line.msg, 'while the pool is busy');
  });
});
