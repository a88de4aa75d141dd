/**
 * The lockout counters live in the store, so a lock engaged through one process holds in every
 * other: two `serve` nodes on one PostgreSQL (always PostgreSQL: several nodes on one database is the
 * point), and the workers of `serve --workers 2` (on the test store). The operator sees and lifts
 * locks with `d1-authz lockout list --json` and `d1-authz lockout clear`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testStore, type TestDatabase } from '../helpers/database.js';
import { tokenFrom } from '../helpers/from-address.js';
import { logLines } from '../helpers/http.js';
import { cliEnv, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const ATTACKER = '127.0.0.2';
/** Starting `serve` compiles the sources: on a loaded machine that takes a while. */
const START_MS = 90_000;
const SETTINGS = { D1AUTHZ_SCRYPT_COST: '14', D1AUTHZ_LOCKOUT_THRESHOLD: '4', D1AUTHZ_LOCKOUT_WINDOW: '120', D1AUTHZ_LOCKOUT_MAX: '600', D1AUTHZ_SYNC_INTERVAL_MS: '200' };
const tokenUrl = (serve: ServeProcess) => `${serve.origin}/authz/d1/v1/oauth2/token`;
const guess = (serve: ServeProcess, i: number) => tokenFrom(ATTACKER, tokenUrl(serve), 'shared', `guess-${i}-${'x'.repeat(32)}`);

async function cli(env: Record<string, string>, args: string[]): Promise<string> {
  const r = await runCli(args, env);
  assert.equal(r.code, 0, `d1-authz ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('two nodes on one PostgreSQL', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let a: ServeProcess;
  let b: ServeProcess;
  before(async () => {
    db = await createTestDatabase('postgres');
    env = cliEnv(db.url, randomBytes(32).toString('base64'), SETTINGS);
    await cli(env, ['migrate']);
    await cli(env, ['client', 'create', 'shared', '--json']);
    // One after the other: each start compiles the sources, slow on a loaded machine.
    a = await spawnServe(env, await freePort(), [], { startTimeoutMs: START_MS });
    b = await spawnServe(env, await freePort(), [], { startTimeoutMs: START_MS });
  });
  after(async () => {
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await db?.drop();
  });

  it('share one lock: failures on both count together, the lock holds on both, and `lockout clear` lifts it on both', async () => {
    assert.equal((await guess(a, 0)).status, 401);
    assert.equal((await guess(a, 1)).status, 401);
    assert.equal((await guess(b, 2)).status, 401);
    assert.equal((await guess(b, 3)).status, 401, 'the fourth failure, two on each node');
    assert.equal((await guess(a, 4)).status, 429, 'locked on node A, which saw only two failures');
    assert.equal((await guess(b, 5)).status, 429, 'and on node B');

    const listed = JSON.parse(await cli(env, ['lockout', 'list', '--json']));
    const pair = listed.find((r: any) => r.client_id === 'shared');
    assert.equal(pair.address, ATTACKER);
    assert.equal(pair.locked, true);
    assert.equal(pair.lock_seconds, 30, 'the base lock: window / threshold');
    const address = listed.find((r: any) => r.client_id === null);
    assert.deepEqual([address.address, address.locked, address.failures_in_window], [ATTACKER, false, 4]);

    assert.deepEqual(JSON.parse(await cli(env, ['lockout', 'clear', ATTACKER, '--json'])), { cleared: 2 });
    for (const node of [a, b]) await waitFor('the lock to be lifted', async () => (await guess(node, 9)).status === 401, 10_000, 200);
    assert.deepEqual(JSON.parse(await cli(env, ['lockout', 'list', '--json'])).map((r: any) => r.locked), [false, false]);
    // Locks engaged show in the log of the node that engaged them, at warn, with the address.
    const warned = [...logLines(a.output()), ...logLines(b.output())].filter((l) => l.msg === 'lockout: client id locked for this address');
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!.address, ATTACKER);
  });
});

describe(`serve --workers 2 (${testStore})`, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let serve: ServeProcess;
  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'), SETTINGS);
    if (testStore === 'postgres') await cli(env, ['migrate']);
    serve = await spawnServe(env, await freePort(), ['--workers', '2'], { startTimeoutMs: START_MS });
    await waitFor('both workers listening', () => logLines(serve.output()).filter((l) => l.msg === 'worker listening').length === 2, START_MS);
    await cli(env, ['client', 'create', 'shared', '--json']);
  });
  after(async () => {
    await serve?.stop('SIGKILL');
    await db?.drop();
  });

  it('share one lock across workers: every new connection, whichever worker takes it, is refused', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await guess(serve, i)).status, 401);
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => guess(serve, 10 + i)));
    assert.deepEqual(after.map((r) => r.status), Array(10).fill(429), 'ten new connections, spread over both workers, all locked out');
    assert.ok(after.every((r) => Number(r.headers['retry-after']) > 0));
  });
});
