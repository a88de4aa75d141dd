/**
 * Two `serve` processes on one PostgreSQL database, as behind a load balancer: what the CLI does
 * through one node's configuration reaches the other node through the change log. Always
 * PostgreSQL (several nodes on one database is the point), whatever D1AUTHZ_TEST_STORE says; an
 * unreachable PostgreSQL fails the test.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { BASE_PATH, httpCall, jwksKids, kidOf, tokenAt } from '../helpers/http.js';
import { cliEnv, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { basicAuth } from '../helpers/server.js';
import { freePort } from '../helpers/free-port.js';
import { sleep, waitFor } from '../helpers/wait.js';

const SYNC_INTERVAL_MS = 200;
const ACTIVATION_DELAY_S = 3;
// B keeps a client it has read for this long: a change seen well before it came by the change feed.
const CLIENT_CACHE_TTL_S = 120;
// Well under the cache lifetime, and generous: each probe is a token request (a slow hash), which
// took over a second on a loaded machine.
const FEED_BOUND_MS = 15_000;

describe('two nodes on one PostgreSQL database', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let a: ServeProcess;
  let b: ServeProcess;
  const cli = async (args: string[]) => {
    const r = await runCli(args, env);
    assert.equal(r.code, 0, `d1-authz ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    db = await createTestDatabase('postgres');
    env = cliEnv(db.url, randomBytes(32).toString('base64'), {
      D1AUTHZ_SYNC_INTERVAL_MS: String(SYNC_INTERVAL_MS),
      D1AUTHZ_CLIENT_CACHE_TTL: String(CLIENT_CACHE_TTL_S),
      D1AUTHZ_KEY_ACTIVATION_DELAY: String(ACTIVATION_DELAY_S),
      D1AUTHZ_JWKS_MAX_AGE: '1',
      D1AUTHZ_SCRYPT_COST: '14',
      // One issuer for the service, whichever node answers (the load balancer's address).
      D1AUTHZ_ISSUER: 'https://authz.example.test/authz/d1/v1',
    });
    await cli(['migrate']);
    // Both nodes start at once on the empty database: one first key between them.
    [a, b] = await Promise.all([spawnServe(env, await freePort(), ['--workers', '1']), spawnServe(env, await freePort(), ['--workers', '1'])]);
  });
  after(async () => {
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await db.drop();
  });

  it('start at once on an empty database with one signing key between them', async () => {
    const store = openStore(db.url);
    const keys = await store.db.selectFrom('signing_keys').select(['kid', 'standby']).orderBy('standby').execute();
    await store.close();
    // One signing key and the pre-published standby (keys revoke switches to it).
    assert.deepEqual(keys.map((k) => k.standby), [0, 1]);
    const published = keys.map((k) => k.kid).sort();
    assert.deepEqual((await jwksKids(a.origin)).sort(), published);
    assert.deepEqual((await jwksKids(b.origin)).sort(), published);
  });

  it('a client created with node A\'s CLI gets tokens from node B; a rotated secret and a disabled client reach B within the sync interval', async (t) => {
    const { client_secret: secret } = JSON.parse(await cli(['client', 'create', 'multi', '--json']));
    const created = Date.now();
    const first = await tokenAt(b.origin, 'multi', secret);
    assert.equal(first.status, 200, 'B reads a client it has never seen from the store');
    const firstTokenMs = Date.now() - created;
    assert.equal((await tokenAt(a.origin, 'multi', secret)).status, 200);

    // B now holds the client (and the verified secret) in memory: only the change feed tells it of changes.
    const { client_secret: rotated } = JSON.parse(await cli(['client', 'rotate-secret', 'multi', '--json']));
    const rotatedAt = Date.now();
    await waitFor('B accepting the new secret', async () => (await tokenAt(b.origin, 'multi', rotated)).status === 200, FEED_BOUND_MS, 10);
    const rotateMs = Date.now() - rotatedAt;
    assert.equal((await tokenAt(b.origin, 'multi', secret)).status, 200, 'the old secret works during its grace period');

    await cli(['client', 'disable', 'multi']);
    const disabledAt = Date.now();
    const refused = await waitFor(
      'B refusing the disabled client',
      async () => {
        const res = await tokenAt(b.origin, 'multi', rotated);
        assert.ok(res.status === 200 || res.status === 401, `unexpected ${res.status}`);
        return res.status === 401 && res;
      },
      FEED_BOUND_MS,
      10,
    );
    const disableMs = Date.now() - disabledAt;
    assert.equal(refused.json.error, 'invalid_client');
    assert.equal((await tokenAt(a.origin, 'multi', rotated)).status, 401);
    // The change is committed before the CLI exits; B polls every SYNC_INTERVAL_MS. Without the
    // feed B would use its cached record for CLIENT_CACHE_TTL_S; the times are reported below.
    assert.ok(rotateMs < FEED_BOUND_MS, `secret rotation reached B after ${rotateMs} ms`);
    assert.ok(disableMs < FEED_BOUND_MS, `disable reached B after ${disableMs} ms`);
    t.diagnostic(`create -> first token on B ${firstTokenMs} ms; secret rotation -> accepted on B ${rotateMs} ms; disable -> refused on B ${disableMs} ms (sync interval ${SYNC_INTERVAL_MS} ms)`);
  });

  it('a key rotated with the CLI is in both nodes\' JWKS before either signs with it', async (t) => {
    const { client_secret: secret } = JSON.parse(await cli(['client', 'create', 'keys', '--json']));
    const oldKid = kidOf((await tokenAt(a.origin, 'keys', secret)).json.access_token);
    const key = JSON.parse(await cli(['keys', 'rotate', '--json']));
    const rotatedAt = Date.now();
    const activateAt = Date.parse(key.activate_at);
    assert.ok(activateAt - rotatedAt > ACTIVATION_DELAY_S * 1000 - 1500, 'the CLI used the configured activation delay');

    const publishedAt: Record<string, number> = {};
    const signedNewAt: Record<string, number> = {};
    let rounds = 0;
    while (Date.now() < activateAt + 1500) {
      rounds++;
      for (const [name, node] of [['A', a], ['B', b]] as const) {
        const res = await tokenAt(node.origin, 'keys', secret);
        assert.equal(res.status, 200);
        const kid = kidOf(res.json.access_token);
        // Every token, from either node, verifies against either node's JWKS fetched after it.
        const [kidsA, kidsB] = await Promise.all([jwksKids(a.origin), jwksKids(b.origin)]);
        assert.ok(kidsA.includes(kid) && kidsB.includes(kid), `a token of ${name} signed with ${kid} not in both JWKS (A: ${kidsA}, B: ${kidsB})`);
        if (kid === key.kid) signedNewAt[name] ??= Date.now();
        else assert.equal(kid, oldKid);
        if (kidsA.includes(key.kid)) publishedAt.A ??= Date.now();
        if (kidsB.includes(key.kid)) publishedAt.B ??= Date.now();
      }
      await sleep(20);
    }
    assert.ok(publishedAt.A && publishedAt.B, 'the new key reached both JWKS');
    assert.ok(publishedAt.B < activateAt && publishedAt.A < activateAt, 'published before the activation time');
    assert.ok(signedNewAt.A && signedNewAt.B, 'both nodes sign with the new key after activation');
    assert.ok(signedNewAt.A >= activateAt && signedNewAt.B >= activateAt, 'neither node signs with it early');
    assert.ok(Math.max(publishedAt.A, publishedAt.B) < Math.min(signedNewAt.A, signedNewAt.B));
    t.diagnostic(
      `rotation -> in JWKS: A ${publishedAt.A - rotatedAt} ms, B ${publishedAt.B - rotatedAt} ms; activation ${activateAt - rotatedAt} ms after the CLI returned; ${rounds} rounds checked`,
    );
  });

  it('a revocation on A is honoured by B\'s introspection within the sync interval', async (t) => {
    const { client_secret: secret } = JSON.parse(await cli(['client', 'create', 'revoker', '--json']));
    const { client_secret: rsSecret } = JSON.parse(await cli(['client', 'create', 'rs', '--introspect', '--no-tokens', '--json']));
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const token = (await tokenAt(b.origin, 'revoker', secret)).json.access_token as string;
    const introspectOnB = async () =>
      (await httpCall(`${b.origin}${BASE_PATH}/oauth2/introspect`, { method: 'POST', headers: { ...form, authorization: basicAuth('rs', rsSecret) }, body: `token=${token}` })).json;
    assert.equal((await introspectOnB()).active, true);
    const revoked = await httpCall(`${a.origin}${BASE_PATH}/oauth2/revoke`, { method: 'POST', headers: { ...form, authorization: basicAuth('revoker', secret) }, body: `token=${token}` });
    assert.equal(revoked.status, 200);
    const revokedAt = Date.now();
    await waitFor('B seeing the revocation', async () => (await introspectOnB()).active === false, FEED_BOUND_MS, 10);
    // B learns of revocations only from the feed; each probe authenticates the resource server (a slow hash).
    const ms = Date.now() - revokedAt;
    assert.ok(ms < FEED_BOUND_MS, `revocation reached B after ${ms} ms`);
    t.diagnostic(`revoke on A -> inactive on B ${ms} ms`);
  });

  it('answers only 2xx/4xx on both nodes throughout', async () => {
    for (const node of [a, b]) {
      const ready = await httpCall(`${node.origin}/readyz`);
      assert.equal(ready.status, 200);
      assert.ok(!/"level":50|"status":5\d\d/.test(node.output()), `no error or 5xx in the log of ${node.origin}`);
    }
  });
});
