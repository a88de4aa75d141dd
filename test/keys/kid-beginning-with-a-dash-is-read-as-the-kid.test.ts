/**
 * A kid is base64url (the key's RFC 7638 thumbprint): one in 64 begins with "-". `keys revoke <kid>`
 * read such a kid as an unknown option and refused it (exit 2), so that key could not be withdrawn
 * as written; with "-h..." it would have printed the help instead. Now the kid reaches the key
 * service whatever it begins with. Ids typed by people (client ids) may begin with "-" too: the usage
 * hint says to put them after `--`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestDatabase } from '../helpers/database.js';
import { migratedCliDatabase, runCli } from '../helpers/process.js';

describe('a kid that begins with "-"', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    ({ db, env } = await migratedCliDatabase());
  });
  after(() => db?.drop());

  for (const kid of ['-I50alcuKefG7CzzlKLdccuFP_E9S7YGDGw0lPn4omI', '-hXYZ', '--x']) {
    it(`keys revoke ${kid}: looked up as a kid (none such here), not read as an option`, async () => {
      const r = await runCli(['keys', 'revoke', kid, '--reason', 'drill'], env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`no key ${kid}`));
      assert.doesNotMatch(r.stderr + r.stdout, /unknown option|Usage:/);
    });
  }

  it('a client id that begins with "-" goes after --, as the usage hint says', async () => {
    const refused = await runCli(['client', 'show', '-weird'], env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /goes after --/);
    const looked = await runCli(['client', 'show', '--', '-weird'], env);
    assert.equal(looked.code, 1, looked.stderr);
    assert.doesNotMatch(looked.stderr, /unknown option/);
  });
});
