/**
 * File modes of what `serve` creates, read with stat from the files of a running server: the
 * SQLite database and its -wal and -shm files 0600, the data folder 0700 (with a generated master
 * key and with D1AUTHZ_MASTER_KEY_FILE alike), the generated master key 0600. A master key file
 * readable by group or others is refused at start with the command that fixes it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { cliEnv, runCli, spawnServe } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');
const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' });

describe('file modes: owner only', () => {
  let root: string;
  const previousUmask = process.umask(0o022); // the usual default: what the files would get without the fix
  before(() => (root = mkdtempSync(join(tmpdir(), 'd1authz-modes-'))));
  after(() => {
    process.umask(previousUmask);
    rmSync(root, { recursive: true, force: true });
  });

  for (const withKeyFile of [false, true]) {
    it(`SQLite files 0600 and the data folder 0700 ${withKeyFile ? 'with D1AUTHZ_MASTER_KEY_FILE' : 'with a generated master key (0600)'}`, async () => {
      const base = mkdtempSync(join(root, 'case-'));
      const data = join(base, 'data');
      const env: Record<string, string> = { ...baseEnv(), D1AUTHZ_DATABASE_URL: `sqlite:${join(data, 'd1-authz.sqlite')}` };
      if (withKeyFile) {
        const keyFile = join(base, 'master.key');
        writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
        env.D1AUTHZ_MASTER_KEY_FILE = keyFile;
      }
      const serve = await spawnServe(env, await freePort());
      try {
        const db = join(data, 'd1-authz.sqlite');
        for (const f of [db, `${db}-wal`, `${db}-shm`]) {
          assert.ok(existsSync(f), `${f} exists while the server runs`);
          assert.equal(mode(f), '0600', f);
        }
        assert.equal(mode(data), '0700', data);
        if (!withKeyFile) assert.equal(mode(join(data, 'master.key')), '0600');
        else assert.equal(existsSync(join(data, 'master.key')), false);
      } finally {
        await serve.stop();
      }
    });
  }

  it('a database an older version created 0644 is tightened to 0600 on open', async () => {
    const data = mkdtempSync(join(root, 'old-'));
    const db = join(data, 'd1-authz.sqlite');
    const env = { ...baseEnv(), D1AUTHZ_DATABASE_URL: `sqlite:${db}`, D1AUTHZ_MASTER_KEY: randomBytes(32).toString('base64') };
    assert.equal((await runCli(['migrate'], env)).code, 0);
    chmodSync(db, 0o644);
    assert.equal((await runCli(['client', 'list'], env)).code, 0);
    assert.equal(mode(db), '0600');
  });

  describe('a master key file readable by group or others', () => {
    let database: TestDatabase;
    before(async () => (database = await createTestDatabase()));
    after(async () => database?.drop());

    for (const bits of [0o640, 0o604, 0o660]) {
      it(`mode ${bits.toString(8)}: \`serve\` exits 2 with the chmod that fixes it`, async () => {
        const keyFile = join(database.dir, `master-${bits.toString(8)}.key`);
        writeFileSync(keyFile, randomBytes(32).toString('base64'));
        chmodSync(keyFile, bits);
        const { D1AUTHZ_MASTER_KEY: _, ...env } = cliEnv(database.url, '', { D1AUTHZ_MASTER_KEY_FILE: keyFile, D1AUTHZ_PORT: '0' });
        const r = await cliExit(['serve'], env);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /D1AUTHZ_MASTER_KEY_FILE: .* is accessible by group or others \(mode 0\d+\)/);
        assert.ok(r.stderr.includes(`chmod 600 ${keyFile}`), r.stderr);
      });
    }
  });
});
