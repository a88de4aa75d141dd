/**
 * A misspelled D1AUTHZ_* variable or config-file key stops start-up (exit 2) naming it and the
 * closest setting, unless D1AUTHZ_ALLOW_UNKNOWN_SETTINGS=true makes it a warning; an empty value
 * (D1AUTHZ_TLS_CLIENT_CA="", which used to mean "mutual TLS off") is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { cliEnv, runCli, spawnServe } from '../helpers/process.js';
import { createPki, type Pki } from '../tls/pki.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

describe('unknown and empty settings are refused', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let pki: Pki;
  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_PORT: '0' });
    assert.equal((await runCli(['migrate'], env)).code, 0);
    pki = createPki();
  });
  after(async () => {
    pki?.cleanup();
    await db?.drop();
  });

  it('`serve` with D1AUTHZ_TLS_CLIENTCA exits 2 naming it and D1AUTHZ_TLS_CLIENT_CA', async () => {
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_TLS_CLIENTCA: '/etc/ca.pem' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_TLS_CLIENTCA \(did you mean D1AUTHZ_TLS_CLIENT_CA\?\): unknown setting/);
  });

  it('`client list` with D1AUTHZ_TOKNE_TTL exits 2 naming D1AUTHZ_TOKEN_TTL', async () => {
    const r = await cliExit(['client', 'list'], { ...env, D1AUTHZ_TOKNE_TTL: '60' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_TOKNE_TTL \(did you mean D1AUTHZ_TOKEN_TTL\?\)/);
  });

  it('an unknown config-file key exits 2 naming it and the closest key', async () => {
    const file = join(db.dir, 'config.json');
    writeFileSync(file, JSON.stringify({ tokneTtl: 60 }));
    const r = await cliExit(['serve', '--config', file], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /tokneTtl \(did you mean tokenTtl\?\) in .*config\.json: unknown setting/);
  });

  it('`serve` with D1AUTHZ_TLS_CLIENT_CA="" exits 2 naming it (it used to serve TLS without asking for a client certificate)', async () => {
    const ca = pki.ca('ca');
    const cert = pki.server(ca);
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_TLS_CERT: cert.certPath, D1AUTHZ_TLS_KEY: cert.keyPath, D1AUTHZ_TLS_CLIENT_CA: '' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_TLS_CLIENT_CA: empty/);
  });

  it('an empty security setting is refused whichever it is; an empty value in the config file too', () => {
    for (const name of ['D1AUTHZ_TLS_CERT', 'D1AUTHZ_TLS_KEY', 'D1AUTHZ_MASTER_KEY', 'D1AUTHZ_MASTER_KEY_FILE', 'D1AUTHZ_TRUSTED_PROXIES', 'D1AUTHZ_TLS_CIPHERS', 'D1AUTHZ_CONFIG', 'D1AUTHZ_ISSUER']) {
      assert.throws(() => loadConfig({}, { [name]: '' }, undefined), (err: unknown) => err instanceof ConfigError && err.message.includes(`${name}: empty`), name);
      assert.throws(() => loadConfig({}, { [name]: '  ' }, undefined), ConfigError, `${name} blank`);
    }
    const file = join(db.dir, 'empty.json');
    writeFileSync(file, JSON.stringify({ masterKey: '' }));
    assert.throws(() => loadConfig({}, {}, file), (err: unknown) => err instanceof ConfigError && /D1AUTHZ_MASTER_KEY \(masterKey\)/.test(err.message));
  });

  it('the variables the code reads besides settings are known: D1AUTHZ_CONFIG, D1AUTHZ_GATEWAY_CLIENT_SECRET, D1AUTHZ_TEST_*', () => {
    const file = join(db.dir, 'ok.json');
    writeFileSync(file, '{}');
    const c = loadConfig({}, { D1AUTHZ_CONFIG: file, D1AUTHZ_GATEWAY_CLIENT_SECRET: 's', D1AUTHZ_TEST_STORE: 'postgres', D1AUTHZ_TEST_PG_URL: 'postgres://x' }, file);
    assert.deepEqual(c.unknownSettings, []);
  });

  it('D1AUTHZ_ALLOW_UNKNOWN_SETTINGS must itself be a boolean', async () => {
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_ALLOW_UNKNOWN_SETTINGS: 'maybe', D1AUTHZ_TOKNE_TTL: '60' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_ALLOW_UNKNOWN_SETTINGS \(allowUnknownSettings\): must be one of/);
  });

  it('with D1AUTHZ_ALLOW_UNKNOWN_SETTINGS=true the server starts and warns about each unknown setting', async () => {
    const serve = await spawnServe({ ...env, D1AUTHZ_ALLOW_UNKNOWN_SETTINGS: 'true', D1AUTHZ_TOKNE_TTL: '60' }, await freePort());
    try {
      assert.equal((await fetch(`${serve.origin}/healthz`)).status, 200);
      const warning = await waitFor('the start-up warning', () => serve.output().split('\n').find((l) => l.includes('unknown setting ignored')), 30_000).catch(() => undefined);
      assert.ok(warning, serve.output());
      assert.match(warning, /D1AUTHZ_TOKNE_TTL \(did you mean D1AUTHZ_TOKEN_TTL\?\)/);
      assert.equal(JSON.parse(warning).level, 40);
    } finally {
      await serve.stop();
    }
  });
});
