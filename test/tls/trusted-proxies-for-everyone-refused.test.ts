/**
 * D1AUTHZ_TRUSTED_PROXIES=0.0.0.0/0 (or ::/0) let any peer forge the client-certificate header:
 * refused unless D1AUTHZ_TRUST_ANY_PROXY=true, and any range wider than a /24 (IPv4) or /64 (IPv6)
 * is warned about loudly at every start.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { settingWarnings } from '../../src/config/warnings.js';
import type { TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { migratedCliDatabase } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';

describe('trusted proxy ranges', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    ({ db, env } = await migratedCliDatabase());
  });
  after(async () => db?.drop());

  it('`serve` with D1AUTHZ_TRUSTED_PROXIES=0.0.0.0/0 exits 2 naming the setting and its override', async () => {
    const r = await cliExit(['serve'], { ...env, D1AUTHZ_PORT: '0', D1AUTHZ_TRUSTED_PROXIES: '10.0.0.1, 0.0.0.0/0' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /D1AUTHZ_TRUSTED_PROXIES \(trustedProxies\): 0\.0\.0\.0\/0 trusts every peer/);
    assert.match(r.stderr, /D1AUTHZ_TRUST_ANY_PROXY=true/);
  });

  it('::/0 is refused the same way; /1 and /24 are not', () => {
    assert.throws(() => loadConfig({}, { D1AUTHZ_TRUSTED_PROXIES: '::/0' }), (e: unknown) => e instanceof ConfigError && /::\/0 trusts every peer/.test(e.message));
    assert.deepEqual(loadConfig({}, { D1AUTHZ_TRUSTED_PROXIES: '0.0.0.0/1 10.1.2.0/24' }).trustedProxies, ['0.0.0.0/1', '10.1.2.0/24']);
  });

  it('only ranges wider than /24 or /64 are warned about', () => {
    const warned = (list: string) => settingWarnings(loadConfig({}, { D1AUTHZ_TRUSTED_PROXIES: list })).flatMap((w) => (w.fields.ranges as string[]) ?? []);
    assert.deepEqual(warned('10.1.2.0/24 10.1.2.3 fd00:1:2:3::/64 ::1'), []);
    assert.deepEqual(warned('10.1.0.0/23 10.0.0.0/8 fd00::/63 fd00::/8 127.0.0.1'), ['10.1.0.0/23', '10.0.0.0/8', 'fd00::/63', 'fd00::/8']);
  });

  it('a running server warns at start about 10.0.0.0/8; with the override 0.0.0.0/0 starts, warned about too', async () => {
    for (const settings of [{ trustedProxies: ['10.0.0.0/8', '10.9.9.9'] }, { trustedProxies: ['0.0.0.0/0'], trustAnyProxy: true }]) {
      const server = await startTestServer(settings);
      try {
        assert.equal((await fetch(`${server.origin}/healthz`)).status, 200);
        const line = server.logs.find((l) => l.includes('TRUSTED PROXIES'));
        assert.ok(line, server.logs.join('\n'));
        const entry = JSON.parse(line);
        assert.equal(entry.level, 40);
        assert.equal(entry.setting, 'D1AUTHZ_TRUSTED_PROXIES');
        assert.deepEqual(entry.ranges, [settings.trustedProxies[0]]);
      } finally {
        await server.close();
      }
    }
  });
});
