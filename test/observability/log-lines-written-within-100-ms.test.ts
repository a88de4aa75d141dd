/**
 * `serve` gathers its log lines into 4 KiB writes (one write per line cost a tenth of a token's CPU),
 * and writes whatever it has gathered at least every 100 ms (docs/operations.md, "Logs"): on a quiet
 * server a request's line still shows at once, not when 4 KiB have piled up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenAt } from '../helpers/http.js';
import { migratedCliDatabase, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import type { TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/free-port.js';
import { sleep } from '../helpers/wait.js';

describe('log lines of a quiet server', () => {
  let db: TestDatabase;
  let serve: ServeProcess | undefined;
  let secret: string;
  before(async () => {
    const prepared = await migratedCliDatabase();
    db = prepared.db;
    const env = { ...prepared.env, D1AUTHZ_SCRYPT_COST: '14' };
    secret = JSON.parse((await runCli(['client', 'create', 'quiet', '--json'], env)).stdout).client_secret;
    serve = await spawnServe(env, await freePort());
  });
  after(async () => {
    await serve?.stop();
    await db?.drop();
  });

  it('a lone request line is written within 100 ms of its answer (plus scheduling slack)', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = serve!.output().length;
      const res = await tokenAt(serve!.origin, 'quiet', secret);
      assert.equal(res.status, 200);
      const answered = Date.now();
      while (!serve!.output().slice(before).includes('"msg":"request"')) {
        assert.ok(Date.now() - answered < 2000, 'the request line was never written');
        await sleep(5);
      }
      delays.push(Date.now() - answered);
      await sleep(300); // quiet again: nothing else pushes the buffer out
    }
    delays.sort((a, b) => a - b);
    // The bound is 100 ms; the median leaves room for a busy machine's scheduling.
    assert.ok(delays[2]! <= 250, `request lines written after ${delays.join(', ')} ms`);
  });
});
