/**
 * Two `serve` processes on one PostgreSQL share the keys of one HSM partition: the first key is made
 * once, both sign with it, and a `keys rotate` generated in the token while both serve under load
 * is announced before it signs: the guard verifies every token, none fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createGuard } from '@d1-authz/guard';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { jwksKids, kidOf, tokenAt } from '../helpers/http.js';
import { runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const ISSUER = 'https://authz.example.test/authz/d1/v1';

describe('pkcs11 provider: two processes on one PostgreSQL, one HSM partition', () => {
  let hsm: SoftHsmToken;
  let db: TestDatabase;
  let env: Record<string, string>;
  const nodes: ServeProcess[] = [];

  before(async () => {
    hsm = createSoftHsmToken();
    db = await createTestDatabase('postgres');
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...hsm.env,
      D1AUTHZ_DATABASE_URL: db.url,
      D1AUTHZ_KEY_PROVIDER: 'pkcs11',
      D1AUTHZ_PKCS11_MODULE: hsm.module,
      D1AUTHZ_PKCS11_TOKEN_LABEL: hsm.label,
      D1AUTHZ_PKCS11_PIN: hsm.pin,
      D1AUTHZ_SCRYPT_COST: '14',
      D1AUTHZ_SYNC_INTERVAL_MS: '100',
      D1AUTHZ_JWKS_MAX_AGE: '1',
      D1AUTHZ_KEY_ACTIVATION_DELAY: '3',
      D1AUTHZ_ISSUER: ISSUER,
    };
    assert.equal((await runCli(['migrate'], env)).code, 0);
    // One after the other: on a loaded machine two HSM start-ups at once can outlast the helper's start bound.
    for (let i = 0; i < 2; i++) nodes.push(await spawnServe(env, await freePort()));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    await db?.drop();
    hsm?.drop();
  });

  it('both sign with the one HSM key; a rotation under load gives zero failed verifications at the guard', async () => {
    const [a, b] = nodes as [ServeProcess, ServeProcess];
    const { client_secret: secret } = JSON.parse((await runCli(['client', 'create', 'shared', '--json'], env)).stdout);
    const first = await Promise.all([tokenAt(a.origin, 'shared', secret), tokenAt(b.origin, 'shared', secret)]);
    for (const res of first) assert.equal(res.status, 200, JSON.stringify(res.json));
    const firstKid = kidOf(first[0].json.access_token);
    assert.equal(kidOf(first[1].json.access_token), firstKid, 'one signing key between the two processes');
    assert.deepEqual((await jwksKids(a.origin)).sort(), (await jwksKids(b.origin)).sort());

    // The guard of a resource server, with its default JWKS caching, following node A's JWKS.
    const guard = createGuard({ issuer: ISSUER, audience: 'd1-issuer-api', jwksUri: `${a.origin}/authz/d1/v1/.well-known/jwks.json` });
    const failures: string[] = [];
    const kidsSeen = new Map<string, Set<string>>([
      [a.origin, new Set()],
      [b.origin, new Set()],
    ]);
    let stop = false;
    let requests = 0;
    const load = async (origin: string) => {
      while (!stop) {
        requests++;
        const res = await tokenAt(origin, 'shared', secret);
        if (res.status !== 200) {
          failures.push(`${origin}: token ${res.status} ${JSON.stringify(res.json)}`);
          continue;
        }
        kidsSeen.get(origin)!.add(kidOf(res.json.access_token));
        await guard.verify(`Bearer ${res.json.access_token}`).catch((err: Error) => failures.push(`${origin}: guard ${err.message}`));
      }
    };
    const loops = [load(a.origin), load(b.origin)];
    try {
      const rotated = await runCli(['keys', 'rotate', '--json'], env);
      assert.equal(rotated.code, 0, rotated.stderr);
      const newKid = JSON.parse(rotated.stdout).kid as string;
      assert.equal(JSON.parse(rotated.stdout).provider, 'pkcs11');
      await waitFor('both nodes signing with the key rotated in', () => [...kidsSeen.values()].every((kids) => kids.has(newKid)), 30_000, 100);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    assert.deepEqual(failures, [], `no failed token request or verification (of ${requests})`);
    assert.ok(requests > 20, `load ran (${requests} requests)`);
    for (const kids of kidsSeen.values()) assert.ok(kids.has(firstKid), 'the first key signed before the hand-over');
  });
});
