/**
 * The server's log destination (src/cli/line-batcher.ts in front of sonic-boom): lines are held
 * until a batch is full or the flush interval passes, and none is lost when the process exits,
 * whether it exits at once (process.exit) or after logger.flush(cb).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { LineBatcher } from '../../src/cli/line-batcher.js';
import { LOG_BATCH_CHARS, LOG_FLUSH_MS } from '../../src/cli/log-stream.js';
import { sleep, waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'd1authz-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const read = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

describe('log lines in batches', () => {
  it('holds a line until the batch fills or the interval passes, then writes it', async () => {
    const file = join(dir, 'a.log');
    const out = pino.destination({ dest: file, sync: false, minLength: LOG_BATCH_CHARS });
    const batcher = new LineBatcher(out, LOG_BATCH_CHARS, 200);
    batcher.write('first\n');
    await sleep(50);
    assert.equal(read(file), '', 'a lone line waits for the interval');
    await waitFor('the first line', () => read(file) === 'first\n', 2000, 10);
    for (let i = 0; i < 100; i++) batcher.write(`line ${String(i).padStart(2, '0')} ${'x'.repeat(42)}\n`);
    // 100 lines of 51 characters passed the 4,096-character batch: written without waiting for the interval.
    await waitFor('the full batch', () => read(file).split('\n').length > 20, 150, 5);
    batcher.flushSync();
    assert.equal(read(file).split('\n').filter(Boolean).length, 101);
    out.end();
  });

  it('loses nothing when the process exits: at once, or after logger.flush', () => {
    const fixture = new URL('fixtures/log-then-exit.ts', import.meta.url).pathname;
    for (const ending of ['exit', 'flush']) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', fixture, ending], { encoding: 'utf8', maxBuffer: 16 << 20 });
      assert.equal(run.status, 3, `${ending}: ${run.stderr}`);
      const lines = run.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i);
      assert.deepEqual(lines, Array.from({ length: 2500 }, (_, i) => i), `${ending}: every line written, in order`);
    }
  });

  it('documents the interval it uses', () => {
    assert.equal(LOG_FLUSH_MS, 100);
  });
});
