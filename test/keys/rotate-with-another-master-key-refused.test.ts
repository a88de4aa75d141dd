/**
 * `keys rotate` given another master key than the servers' opens the published keys first and
 * refuses (exit 2) instead of writing a key no server can decrypt; and a running node whose key
 * reload fails (such a key arrived anyway) reports it on /readyz (503) instead of only logging.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { encryptPrivateKey } from '../../src/domain/keys/local/key-encryption.js';
import { generateLocalKey as generateSigningKey } from '../../src/domain/keys/local/key-generation.js';
import { KeyRepository } from '../../src/store/key-repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

describe('a master key that does not open the published keys', () => {
  let db: TestDatabase;
  const serverKey = randomBytes(32).toString('base64');
  before(async () => {
    db = await createTestDatabase();
    assert.equal((await runCli(['migrate'], cliEnv(db.url, serverKey))).code, 0);
  });
  after(async () => db?.drop());

  it('`keys rotate` with another D1AUTHZ_MASTER_KEY exits 2 and writes nothing', async () => {
    const first = await runCli(['keys', 'rotate', '--activate-in', '0', '--force', '--json'], cliEnv(db.url, serverKey));
    assert.equal(first.code, 0, first.stderr);
    const r = await cliExit(['keys', 'rotate', '--json'], cliEnv(db.url, randomBytes(32).toString('base64')));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /does not open the published signing key .*Nothing was written/);
    const listed = JSON.parse((await runCli(['keys', 'list', '--json'], cliEnv(db.url, serverKey))).stdout);
    assert.deepEqual(listed.map((k: { kid: string }) => k.kid), [JSON.parse(first.stdout).kid]);
    const again = await runCli(['keys', 'rotate', '--json'], cliEnv(db.url, serverKey));
    assert.equal(again.code, 0, 'the right master key still rotates: ' + again.stderr);
  });

  it('a running node turns /readyz 503 when a key reload fails, and ready again once it succeeds', async () => {
    const database = await createTestDatabase();
    const server = await startTestServer({}, { database });
    try {
      const ready = async () => {
        const res = await fetch(`${server.origin}/readyz`);
        return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
      };
      assert.equal((await ready()).status, 200);
      // A key sealed with another master key, written as an older CLI would have.
      const repo = new KeyRepository(server.app.store.db);
      const key = generateSigningKey('ES256');
      const now = Date.now();
      const row = {
        kid: key.kid,
        alg: 'ES256',
        public_jwk: JSON.stringify(key.publicJwk),
        private_key_enc: encryptPrivateKey(randomBytes(32), key.kid, key.privatePem),
        created_at: now,
        activate_at: now + 3_600_000,
        retire_at: null,
      };
      await repo.insert(row, null);
      const unready = await waitFor('readyz 503', async () => {
        const r = await ready();
        return r.status === 503 && r;
      });
      assert.equal(unready.body.checks.keys_loaded, 'failing');
      await server.app.store.db.deleteFrom('signing_keys').where('kid', '=', key.kid).execute();
      await server.app.keyRing.reload();
      assert.equal((await ready()).status, 200);
    } finally {
      await server.close();
      await database.drop();
    }
  });
});
