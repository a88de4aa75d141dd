/**
 * `d1-authz master-key rotate`: with the new master key configured and the old one in
 * D1AUTHZ_MASTER_KEY_PREVIOUS_FILE, every sealed key is re-sealed under the new one in one
 * transaction. Nodes accept either key meanwhile and keep serving through it; afterwards the old
 * master key opens nothing in the store.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeMasterKey } from '../../src/domain/keys/local/master-key.js';
import { decryptPrivateKey } from '../../src/domain/keys/local/key-encryption.js';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { kidOf, tokenAt } from '../helpers/http.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

describe('master-key rotate', () => {
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  let db: TestDatabase;
  let oldFile: string;
  const nodes: TestServer[] = [];
  const secret = 'm'.repeat(32);

  before(async () => {
    db = await createTestDatabase();
    oldFile = join(db.dir, 'old-master.key');
    writeFileSync(oldFile, oldKey + '\n', { mode: 0o600 });
    // The keys are made under the old master key, and one more by a rotation.
    const first = await startTestServer({}, { database: db, masterKey: oldKey });
    await first.createClient('mk', {}, { secret });
    await first.app.keys.rotate({ activateInSeconds: 0 });
    await first.close();
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await db.drop();
  });

  const sealedRows = async () => {
    const store = openStore(db.url);
    try {
      return await store.db.selectFrom('signing_keys').select(['kid', 'private_key_enc']).execute();
    } finally {
      await store.close();
    }
  };
  const opens = (key: string, row: { kid: string; private_key_enc: string | null }) => {
    try {
      decryptPrivateKey(decodeMasterKey(key, 'test'), row.kid, row.private_key_enc!);
      return true;
    } catch {
      return false;
    }
  };

  it('refuses without the previous master key, naming the setting', async () => {
    const res = await runCli(['master-key', 'rotate'], cliEnv(db.url, newKey));
    assert.equal(res.code, 1);
    assert.match(res.stderr, /D1AUTHZ_MASTER_KEY_PREVIOUS_FILE must name the master key being replaced/);
    assert.ok((await sealedRows()).every((r) => opens(oldKey, r)), 'nothing changed');
  });

  it('re-seals every key in one go while two nodes keep serving; the old master key opens nothing afterwards', async (t) => {
    // Both nodes already run with the new key, the old one as previous: they open either.
    for (let i = 0; i < 2; i++) nodes.push(await startTestServer({ masterKeyPreviousFile: oldFile, syncIntervalMs: 100 }, { database: db, masterKey: newKey }));
    const env = cliEnv(db.url, newKey, { D1AUTHZ_MASTER_KEY_PREVIOUS_FILE: oldFile });
    const rows = await sealedRows();
    assert.ok(rows.length >= 3 && rows.every((r) => opens(oldKey, r) && !opens(newKey, r)));

    const failures: string[] = [];
    let served = 0;
    let stop = false;
    const load = async (node: TestServer) => {
      while (!stop) {
        const res = await tokenAt(node.origin, 'mk', secret);
        if (res.status === 200) served++;
        else failures.push(`${res.status} ${JSON.stringify(res.json)}`);
      }
    };
    const loops = nodes.map(load);
    try {
      const res = await runCli(['master-key', 'rotate', '--json'], env);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), { rewrapped: rows.length });
      const audited = await runCli(['audit', '--json', '--event', 'master_key.rotated'], env);
      assert.equal(audited.code, 0, audited.stderr);
      assert.deepEqual(JSON.parse(audited.stdout).map((e: any) => e.details), [{ rewrapped: rows.length }], 'the rotation is in the audit trail');
      // A key rotated in now is sealed under the new master key; both nodes open it and sign with it.
      const rotated = await runCli(['keys', 'rotate', '--activate-in', '0', '--force', '--json'], env);
      assert.equal(rotated.code, 0, rotated.stderr);
      const kid = JSON.parse(rotated.stdout).kid as string;
      for (const node of nodes) {
        await waitFor('the node signing with the new key', async () => kidOf((await tokenAt(node.origin, 'mk', secret)).json.access_token) === kid, 10_000, 50);
      }
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    t.diagnostic(`${served} tokens served during the master-key rotation`);
    assert.deepEqual(failures, [], 'every token request succeeded');

    const after = await sealedRows();
    assert.ok(after.length > rows.length);
    for (const row of after) {
      assert.equal(opens(oldKey, row), false, `the old master key does not open ${row.kid}`);
      assert.equal(opens(newKey, row), true);
    }
    // A node with only the old master key cannot start on this store any more.
    await assert.rejects(startTestServer({}, { database: db, masterKey: oldKey }), /cannot decrypt \(wrong master key\?\)/);
  });
});
