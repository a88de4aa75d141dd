/**
 * `serve --workers N`: node:cluster workers sharing the port, one first signing key, a crashed
 * worker replaced (with backoff when it keeps crashing), SIGTERM stopping the whole server with 0.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultWorkers } from '../../src/cluster/default-workers.js';
import { RESTART_MAX_MS, restartDelayMs } from '../../src/cluster/supervisor.js';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, testStore, type TestDatabase } from '../helpers/database.js';
import { isAlive, kidOf, logLines, tokenAt } from '../helpers/http.js';
import { cliEnv, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { sleep, waitFor } from '../helpers/wait.js';

const workerPids = (serve: ServeProcess, msg: string): number[] => logLines(serve.output()).filter((l) => l.msg === msg).map((l) => l.workerPid as number);

describe('serve --workers', () => {
  it('restart delays double per consecutive crash, capped', () => {
    assert.deepEqual([1, 2, 3, 4].map(restartDelayMs), [250, 500, 1000, 2000]);
    assert.equal(restartDelayMs(50), RESTART_MAX_MS);
  });

  describe('two workers', () => {
    let db: TestDatabase;
    let env: Record<string, string>;
    let keyFile: string;
    const masterKey = randomBytes(32).toString('base64');
    before(async () => {
      db = await createTestDatabase();
      keyFile = join(db.dir, 'master.key');
      writeFileSync(keyFile, masterKey, { mode: 0o600 });
      env = { ...cliEnv(db.url, masterKey, { D1AUTHZ_SCRYPT_COST: '14' }), D1AUTHZ_MASTER_KEY_FILE: keyFile };
      delete env.D1AUTHZ_MASTER_KEY;
      // PostgreSQL is migrated on purpose; the embedded store is migrated by the primary, once.
      if (testStore === 'postgres') assert.equal((await runCli(['migrate'], env)).code, 0);
    });
    after(() => db.drop());

    it('share the port with one first key, replace a SIGKILLed worker while the other serves, back off a crash loop, exit 0 on SIGTERM', async (t) => {
      const serve = await spawnServe(env, await freePort(), ['--workers', '2']);
      try {
        await waitFor('both workers listening', () => workerPids(serve, 'worker listening').length === 2, 30_000);
        const [first, second] = workerPids(serve, 'worker started');
        assert.ok(first && second && first !== second && isAlive(first) && isAlive(second));
        assert.equal(serve.child.pid !== first && serve.child.pid !== second, true, 'the primary serves nothing itself');

        const store = openStore(db.url);
        const keys = await store.db.selectFrom('signing_keys').select('kid').where('standby', '=', 0).execute();
        await store.close();
        assert.equal(keys.length, 1, 'the first key is created once, by the primary');

        const { client_secret: secret } = JSON.parse((await runCli(['client', 'create', 'cluster', '--json'], env)).stdout);
        await waitFor('the new client', async () => (await tokenAt(serve.origin, 'cluster', secret)).status === 200, 5000);
        const batch = async (n: number) => Promise.all(Array.from({ length: n }, () => tokenAt(serve.origin, 'cluster', secret, 5000)));
        for (const res of await batch(10)) {
          assert.equal(res.status, 200);
          assert.equal(kidOf(res.json.access_token), keys[0]!.kid);
        }

        // SIGKILL one worker. A connection the primary hands to the worker in the instant it dies is lost
        // (node:cluster round-robin; docs/operations.md), so the checks start once the primary has seen the exit.
        process.kill(first, 'SIGKILL');
        const killedAt = Date.now();
        await waitFor('the primary noticing the exit', () => logLines(serve.output()).some((l) => l.workerPid === first && l.msg.startsWith('worker exited unexpectedly')), 5000, 10);
        for (const res of await batch(10)) assert.equal(res.status, 200, 'the other worker serves meanwhile');
        const replacement = await waitFor('a replacement worker listening', () => workerPids(serve, 'worker listening').find((p) => p !== first && p !== second), 30_000);
        assert.ok(!isAlive(first) && isAlive(replacement) && isAlive(second));
        const replacedInMs = Date.now() - killedAt;
        for (const res of await batch(10)) assert.equal(res.status, 200);

        // A crash loop: replacements cannot start (the master key file is unreadable garbage); the primary
        // keeps the surviving worker serving and waits longer before each new attempt.
        writeFileSync(keyFile, 'not a key');
        process.kill(replacement, 'SIGKILL');
        const loop = await waitFor(
          'three failed restarts',
          () => {
            const delays = logLines(serve.output())
              .filter((l) => l.msg.startsWith('worker exited unexpectedly') && l.worker === logLines(serve.output()).find((x) => x.workerPid === replacement)?.worker)
              .map((l) => l.restartInMs as number);
            return delays.length >= 4 && delays;
          },
          30_000,
        );
        const afterReplacement = loop.slice(loop.length - 3);
        assert.deepEqual(afterReplacement, [...afterReplacement].sort((a, b) => a - b), `restart delays grow: ${loop.join(', ')}`);
        assert.ok(afterReplacement[2]! > afterReplacement[0]!, `restart delays grow: ${loop.join(', ')}`);
        for (const res of await batch(5)) assert.equal(res.status, 200, 'the surviving worker serves through the crash loop');

        writeFileSync(keyFile, masterKey);
        const healed = await waitFor('a worker starting once the key is back', () => workerPids(serve, 'worker listening').find((p) => ![first, second, replacement].includes(p)), 30_000);
        assert.ok(isAlive(healed));
        for (const res of await batch(10)) assert.equal(res.status, 200);

        assert.equal(await serve.stop('SIGTERM'), 0, 'SIGTERM stops every worker and the primary exits 0');
        await sleep(100);
        for (const pid of [second, healed]) assert.ok(!isAlive(pid), `worker ${pid} is gone`);
        assert.match(serve.output(), /all workers stopped/);
        t.diagnostic(`worker replaced (SIGKILL -> replacement listening) in ${replacedInMs} ms; restart delays in the crash loop: ${loop.join(', ')} ms`);
      } finally {
        await serve.stop('SIGKILL');
      }
    });
  });

  it('a cluster (the default beyond 2 CPUs, else --workers 2) whose worker cannot start (port taken) stops the whole server with exit code 1 instead of looping', async () => {
    const db = await createTestDatabase();
    const blocker = createServer();
    try {
      const env = cliEnv(db.url, randomBytes(32).toString('base64'));
      if (testStore === 'postgres') assert.equal((await runCli(['migrate'], env)).code, 0);
      const port = await freePort();
      await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
      const started = Date.now();
      // No --workers and no D1AUTHZ_WORKERS where the default is a cluster (one worker per CPU beyond 2 CPUs); --workers 2 where it is one process.
      const byDefault = defaultWorkers(availableParallelism());
      const cpus = Math.max(2, byDefault);
      const r = await runCli(['serve', ...(byDefault < 2 ? ['--workers', '2'] : [])], { ...env, D1AUTHZ_PORT: String(port) });
      assert.equal(r.code, 1);
      assert.match(r.stdout + r.stderr, /EADDRINUSE/);
      assert.match(r.stdout, /a worker failed to start; stopping/);
      assert.equal(logLines(r.stdout).filter((l) => l.msg === 'worker started').length, cpus, 'one worker per slot');
      assert.ok(Date.now() - started < 30_000);
    } finally {
      blocker.close();
      await db.drop();
    }
  });
});
