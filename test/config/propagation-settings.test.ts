/**
 * A new signing key must be in every node's JWKS (one sync interval) and in every verifier's cached
 * JWKS (one max-age) before any node signs with it: the activation delay must exceed both together.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { createTestDatabase } from '../helpers/database.js';
import { cliEnv, runCli } from '../helpers/process.js';

describe('key activation delay vs propagation', () => {
  it('refuses an activation delay not above sync interval + JWKS max-age, naming the settings', () => {
    assert.throws(
      () => loadConfig({ keyActivationDelay: 60, jwksMaxAge: 60, syncIntervalMs: 1000 }, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        /D1AUTHZ_KEY_ACTIVATION_DELAY \(keyActivationDelay\): must exceed D1AUTHZ_SYNC_INTERVAL_MS \+ D1AUTHZ_JWKS_MAX_AGE \(61 s\)/.test(err.message),
    );
    assert.throws(() => loadConfig({}, { D1AUTHZ_KEY_ACTIVATION_DELAY: '5', D1AUTHZ_JWKS_MAX_AGE: '4', D1AUTHZ_SYNC_INTERVAL_MS: '1000' }), ConfigError);
    assert.equal(loadConfig({}, { D1AUTHZ_KEY_ACTIVATION_DELAY: '6', D1AUTHZ_JWKS_MAX_AGE: '4', D1AUTHZ_SYNC_INTERVAL_MS: '1000' }).keyActivationDelay, 6);
    const defaults = loadConfig({}, {});
    assert.ok(defaults.keyActivationDelay * 1000 > defaults.syncIntervalMs + defaults.jwksMaxAge * 1000, 'the defaults are consistent');
  });

  it('`keys rotate --activate-in` below the propagation time is refused unless --force', async () => {
    const db = await createTestDatabase();
    try {
      const env = cliEnv(db.url, randomBytes(32).toString('base64'));
      assert.equal((await runCli(['migrate'], env)).code, 0); // CLI commands use an existing store, they never create one
      const refused = await runCli(['keys', 'rotate', '--activate-in', '30'], env);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--activate-in must exceed D1AUTHZ_SYNC_INTERVAL_MS \+ D1AUTHZ_JWKS_MAX_AGE \(61 s\)/);
      assert.equal((await runCli(['keys', 'list', '--json'], env)).stdout.trim(), '[]', 'nothing was written');
      const forced = await runCli(['keys', 'rotate', '--activate-in', '0', '--force', '--json'], env);
      assert.equal(forced.code, 0, forced.stderr);
      const listed = JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout);
      assert.deepEqual(listed.map((k: { kid: string; state: string }) => [k.kid, k.state]), [[JSON.parse(forced.stdout).kid, 'signing']]);
    } finally {
      await db.drop();
    }
  });
});
