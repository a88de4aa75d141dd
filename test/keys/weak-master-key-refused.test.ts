/**
 * A master key that cannot have come from a random generator (all zero, one repeated byte, few
 * distinct bytes, a short repeated pattern, a constant step) stops start-up with exit 2.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { weakMasterKeyReason } from '../../src/domain/keys/local/master-key.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { cliEnv, runCli } from '../helpers/process.js';

const pattern = (bytes: number[]) => Buffer.from(Array.from({ length: 32 }, (_, i) => bytes[i % bytes.length]!));

describe('weak master keys are refused', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_PORT: '0' });
    assert.equal((await runCli(['migrate'], env)).code, 0);
  });
  after(async () => db?.drop());

  it('`serve` with an all-zero D1AUTHZ_MASTER_KEY exits 2 naming it', async () => {
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_MASTER_KEY: Buffer.alloc(32).toString('base64') });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_MASTER_KEY: refusing a weak master key: it has only 1 distinct byte value/);
  });

  it('`serve` with a key file holding one repeated byte (hex) exits 2 naming the file', async () => {
    const file = join(db.dir, 'weak.key');
    writeFileSync(file, 'ab'.repeat(32) + '\n', { mode: 0o600 });
    const { D1AUTHZ_MASTER_KEY: _, ...withoutKey } = env;
    const fileOnly = await cliExit(['serve'], { ...withoutKey, D1AUTHZ_MASTER_KEY_FILE: file });
    assert.equal(fileOnly.code, 2, fileOnly.stderr);
    assert.match(fileOnly.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: refusing a weak master key`));
  });

  it('what is refused, and what a random key passes', () => {
    assert.match(weakMasterKeyReason(pattern([0x00]))!, /1 distinct/);
    assert.match(weakMasterKeyReason(pattern([1, 2, 3, 4, 5, 6, 7, 8]))!, /8 distinct/);
    assert.match(weakMasterKeyReason(pattern([...randomBytes(16)]))!, /repeats a 16-byte pattern|distinct/);
    assert.match(weakMasterKeyReason(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))!, /constant step/);
    assert.match(weakMasterKeyReason(Buffer.from(Array.from({ length: 32 }, (_, i) => (200 + 3 * i) % 256)))!, /constant step/);
    for (let i = 0; i < 1000; i++) assert.equal(weakMasterKeyReason(randomBytes(32)), undefined);
  });
});
