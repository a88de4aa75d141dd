/**
 * A boolean setting takes true/false/1/0/yes/no/on/off (trimmed, any case) and nothing else: a
 * word outside that list stops start-up (exit 2) naming the setting, instead of being read as true.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import type { TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { migratedCliDatabase } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';

describe('boolean settings accept only true/false words', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    ({ db, env } = await migratedCliDatabase());
  });
  after(async () => db?.drop());

  it('`serve` with D1AUTHZ_ALLOW_INSECURE_HTTP=nope exits 2 naming the setting and the words it takes', async () => {
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_HOST: '0.0.0.0', D1AUTHZ_PORT: '0', D1AUTHZ_ALLOW_INSECURE_HTTP: 'nope' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_ALLOW_INSECURE_HTTP \(allowInsecureHttp\): must be one of true, 1, yes, on, false, 0, no, off/);
  });

  it('`serve` with D1AUTHZ_METRICS=disabled exits 2 naming D1AUTHZ_METRICS (it used to keep metrics on)', async () => {
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_PORT: '0', D1AUTHZ_METRICS: 'disabled' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_METRICS \(metrics\): must be one of/);
  });

  it('`serve` with D1AUTHZ_ALLOW_INSECURE_HTTP="False " reads false: plain HTTP on 0.0.0.0 is refused', async () => {
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_HOST: '0.0.0.0', D1AUTHZ_PORT: '0', D1AUTHZ_ALLOW_INSECURE_HTTP: 'False ' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_HOST \(host\): plain HTTP is refused on the non-loopback address 0\.0\.0\.0/);
  });

  it('every word outside the list is refused, every word in it is read as meant', () => {
    for (const word of ['nope', 'never', 'disabled', 'n', 'y', 'null', '', ' ', 'truee', '2', 'enabled']) {
      assert.throws(
        () => loadConfig({}, { D1AUTHZ_METRICS: word }),
        (err: unknown) => err instanceof ConfigError && /D1AUTHZ_METRICS/.test(err.message),
        JSON.stringify(word),
      );
    }
    for (const [word, value] of [['true', true], [' TRUE', true], ['1', true], ['Yes', true], ['on ', true], ['false', false], ['False ', false], ['0', false], ['NO', false], [' off', false]] as const) {
      assert.equal(loadConfig({}, { D1AUTHZ_METRICS: word }).metrics, value, JSON.stringify(word));
    }
  });

  it('metrics: " OFF " switches /metrics off on the running server', async () => {
    const server = await startTestServer({ metrics: ' OFF ' });
    try {
      assert.equal((await fetch(`${server.adminOrigin}/metrics`)).status, 404);
    } finally {
      await server.close();
    }
    const on = await startTestServer({ metrics: 'on' });
    try {
      assert.equal((await fetch(`${on.adminOrigin}/metrics`)).status, 200);
    } finally {
      await on.close();
    }
  });
});
