/**
 * Only `serve` and `migrate` create a store. Every other command, run where there is none (a folder
 * without configuration, an unmigrated PostgreSQL database), exits 2 naming the database and
 * D1AUTHZ_DATABASE_URL instead of creating ./data/d1-authz.sqlite and ./data/master.key there.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, testStore, type TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { cliEnv } from '../helpers/process.js';

const bare = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' });

describe('admin commands refuse a store that does not exist', () => {
  let folder: string;
  before(() => (folder = mkdtempSync(join(tmpdir(), 'd1authz-nostore-'))));
  after(() => rmSync(folder, { recursive: true, force: true }));

  for (const args of [['client', 'create', 'x'], ['client', 'list'], ['keys', 'rotate'], ['keys', 'list']]) {
    it(`\`${args.join(' ')}\` in a folder without configuration exits 2 and creates nothing`, async () => {
      const r = await cliExit(args, bare(), { cwd: folder });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`no database at ${join(folder, 'data', 'd1-authz.sqlite')}`), r.stderr);
      assert.match(r.stderr, /D1AUTHZ_DATABASE_URL/);
      assert.match(r.stderr, /d1-authz migrate/);
      assert.deepEqual(readdirSync(folder), [], 'nothing created');
    });
  }

  it('`migrate` creates the embedded store (database and master key), then `client create` works there', async () => {
    const migrated = await cliExit(['migrate'], bare(), { cwd: folder });
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.ok(existsSync(join(folder, 'data', 'd1-authz.sqlite')));
    assert.ok(existsSync(join(folder, 'data', 'master.key')));
    const created = await cliExit(['client', 'create', 'x', '--json'], bare(), { cwd: folder });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).client_id, 'x');
  });

  it('an existing database without its generated master key is refused by `keys rotate` (a new key would seal keys no server opens)', async () => {
    const dir = mkdtempSync(join(folder, 'nokey-'));
    const env = { ...bare(), D1AUTHZ_DATABASE_URL: `sqlite:${join(dir, 'd1-authz.sqlite')}` };
    assert.equal((await cliExit(['migrate'], env)).code, 0);
    rmSync(join(dir, 'master.key'));
    const r = await cliExit(['keys', 'rotate'], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no master key: .*master\.key does not exist/);
    assert.equal(existsSync(join(dir, 'master.key')), false);
  });

  describe(`on the test store (${testStore}): a database that is not set up`, () => {
    let db: TestDatabase;
    before(async () => (db = await createTestDatabase()));
    after(async () => db?.drop());

    it('`client create` exits 2 naming D1AUTHZ_DATABASE_URL and `migrate`', async () => {
      const r = await cliExit(['client', 'create', 'x'], cliEnv(db.url, randomBytes(32).toString('base64')));
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /D1AUTHZ_DATABASE_URL/);
      assert.match(r.stderr, /d1-authz migrate/);
    });
  });
});
