/**
 * The `d1-authz` command chooses libuv's thread pool size before anything uses the pool (src/cli/bin.cts)
 * and leaves one of its threads to token signing (src/config/thread-pool.ts). What is pinned here is the
 * decision as `serve` reports it on its start line: under the test runner's TypeScript loader the pool
 * may already exist before bin.cts runs, so the real pool of these processes is not what is checked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { logLines } from '../helpers/http.js';
import { cliEnv, runCli, spawnServe } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

describe('thread pool and hash concurrency defaults', () => {
  let database: TestDatabase;
  const masterKey = randomBytes(32).toString('base64');
  before(async () => {
    database = await createTestDatabase();
    const migrated = await runCli(['migrate'], cliEnv(database.url, masterKey));
    assert.equal(migrated.code, 0, migrated.stderr);
  });
  after(() => database.drop());

  async function startLine(extra: Record<string, string>) {
    const serve = await spawnServe(cliEnv(database.url, masterKey, extra), await freePort());
    try {
      const start = await waitFor('the start line', () => logLines(serve.output()).find((l) => l.msg === 'd1-authz listening'), 10_000);
      return { start, lines: logLines(serve.output()) };
    } finally {
      assert.equal(await serve.stop(), 0, 'SIGTERM right after start drains and exits 0');
    }
  }

  it('uses 2 threads and 1 concurrent slow hash when nothing is set', async () => {
    const { start, lines } = await startLine({});
    assert.equal(start.uv_threadpool_size, 2);
    assert.equal(start.hash_concurrency, 1);
    assert.ok(!lines.some((l) => /UV_THREADPOOL_SIZE/.test(l.msg ?? '')), 'no warning');
  });

  it("keeps an operator's UV_THREADPOOL_SIZE and leaves one of its threads to signing", async () => {
    const { start } = await startLine({ UV_THREADPOOL_SIZE: '6' });
    assert.equal(start.uv_threadpool_size, 6);
    assert.equal(start.hash_concurrency, 5);
  });

  it('warns when D1AUTHZ_HASH_CONCURRENCY would take every thread of the pool', async () => {
    const { start, lines } = await startLine({ D1AUTHZ_HASH_CONCURRENCY: '2' });
    assert.equal(start.uv_threadpool_size, 2);
    assert.equal(start.hash_concurrency, 2);
    const warning = lines.find((l) => l.level === 40 && /UV_THREADPOOL_SIZE/.test(l.msg));
    assert.ok(warning, 'a warning names the two settings');
    assert.equal(warning.hash_concurrency, 2);
  });
});
