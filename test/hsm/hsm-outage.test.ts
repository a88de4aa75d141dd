/**
 * The HSM is a dependency like the store: unreachable at start, `serve` refuses with the reason; lost
 * while serving (the token taken away, its config broken), token requests get 503
 * temporarily_unavailable with Retry-After, never a 500 and never a token signed some other way;
 * /readyz says 503; once the token is back, signing resumes by itself.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { BASE_PATH, httpCall, kidOf, tokenAt } from '../helpers/http.js';
import { runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

describe('pkcs11 provider: HSM unreachable or lost', () => {
  let hsm: SoftHsmToken;
  let db: TestDatabase;
  let env: Record<string, string>;
  let node: ServeProcess | undefined;

  before(async () => {
    hsm = createSoftHsmToken();
    db = await createTestDatabase();
    const pinFile = join(hsm.dir, 'pin');
    writeFileSync(pinFile, hsm.pin + '\n', { mode: 0o600 });
    // No master key at all: keys held by the HSM need none.
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...hsm.env,
      D1AUTHZ_DATABASE_URL: db.url,
      D1AUTHZ_KEY_PROVIDER: 'pkcs11',
      D1AUTHZ_PKCS11_MODULE: hsm.module,
      D1AUTHZ_PKCS11_TOKEN_LABEL: hsm.label,
      D1AUTHZ_PKCS11_PIN_FILE: pinFile,
      D1AUTHZ_SCRYPT_COST: '14',
      D1AUTHZ_SYNC_INTERVAL_MS: '200',
    };
    assert.equal((await runCli(['migrate'], env)).code, 0);
  });
  after(async () => {
    await node?.stop('SIGKILL');
    await db?.drop();
    hsm?.drop();
  });

  it('refuses to start, saying why, when the token, the PIN or the module is wrong', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ D1AUTHZ_PKCS11_TOKEN_LABEL: 'no-such-token' }, /HSM is not reachable: no token labelled "no-such-token"/],
      [{ D1AUTHZ_PKCS11_PIN: 'wrong-pin' }, /HSM is not reachable: login refused: CKR_PIN_INCORRECT/],
      [{ D1AUTHZ_PKCS11_MODULE: join(hsm.dir, 'missing.so') }, /D1AUTHZ_PKCS11_MODULE: cannot load/],
    ];
    for (const [extra, message] of cases) {
      const { D1AUTHZ_PKCS11_PIN_FILE: pinFile, ...rest } = env;
      // The PIN given one way only: the wrong-PIN case replaces the file by the variable.
      const base = 'D1AUTHZ_PKCS11_PIN' in extra ? rest : { ...rest, D1AUTHZ_PKCS11_PIN_FILE: pinFile! };
      const res = await runCli(['serve', '--workers', '1', '--port', String(await freePort())], { ...base, ...extra });
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, message);
      assert.doesNotMatch(res.stderr + res.stdout, new RegExp(hsm.pin), 'the PIN is never printed');
    }
    // Half an HSM configuration never falls back to local keys: it stops start-up naming the setting.
    const local = await runCli(['serve', '--workers', '1'], { ...env, D1AUTHZ_KEY_PROVIDER: 'local' });
    assert.equal(local.code, 2);
    assert.match(local.stderr, /D1AUTHZ_PKCS11_MODULE \(pkcs11Module\): is set but D1AUTHZ_KEY_PROVIDER is not pkcs11/);
  });

  it('answers 503 temporarily_unavailable (never 500) while the token is gone or its config broken, and resumes by itself', async () => {
    node = await spawnServe(env, await freePort());
    const { client_secret: secret } = JSON.parse((await runCli(['client', 'create', 'outage', '--json'], env)).stdout);
    const first = await tokenAt(node.origin, 'outage', secret);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const kid = kidOf(first.json.access_token);
    const ready = async () => (await httpCall(`${node!.origin}/readyz`)).status;
    assert.equal(await ready(), 200);

    const statuses = new Set<number>();
    const unavailable = async () => {
      const res = await tokenAt(node!.origin, 'outage', secret);
      statuses.add(res.status);
      if (res.status !== 503) return undefined;
      assert.equal(res.json.error, 'temporarily_unavailable');
      assert.equal(res.headers['retry-after'], '2');
      return res;
    };

    hsm.remove();
    await waitFor('503 once the token is gone', unavailable, 15_000, 100);
    const readyz = await httpCall(`${node.origin}/readyz`);
    assert.equal(readyz.status, 503);
    assert.equal(readyz.json.checks.hsm, 'failing');
    // Its config broken too: putting the token back is not enough while the module cannot find it.
    hsm.breakConfig();
    hsm.restore();
    for (let i = 0; i < 10; i++) await unavailable();
    assert.equal(await ready(), 503);

    hsm.fixConfig();
    const resumed = await waitFor('signing resumed', async () => {
      const res = await tokenAt(node!.origin, 'outage', secret);
      statuses.add(res.status);
      return res.status === 200 ? res : undefined;
    }, 20_000, 200);
    assert.equal(kidOf(resumed.json.access_token), kid, 'the same HSM key signs again');
    assert.equal(await ready(), 200);
    assert.deepEqual([...statuses].sort(), [200, 503], 'only 200 and 503 were answered');
    // Log lines reach stdout within the log flush interval (100 ms), not at once.
    await waitFor('the "HSM reachable again" line', () => /HSM reachable again/.test(node!.output()), 2_000, 20);
    await waitFor('the lines of the requests after the outage', () => node!.output().lastIndexOf('"status":200') > node!.output().indexOf('HSM lost'), 2_000, 20);
    assert.doesNotMatch(node.output(), /server_error|"status":500/);
    assert.doesNotMatch(node.output(), new RegExp(hsm.pin), 'the PIN is never logged');
    assert.match(node.output(), /HSM lost/);
    // The JWKS kept serving throughout: it needs no HSM.
    assert.equal((await httpCall(`${node.origin}${BASE_PATH}/.well-known/jwks.json`)).status, 200);
  });

  it('keeps no private key material in the database and needs no master key', async () => {
    const res = await runCli(['keys', 'list', '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    const keys = JSON.parse(res.stdout) as { provider: string; state: string }[];
    assert.deepEqual(keys.map((k) => k.provider), ['pkcs11', 'pkcs11']);
    assert.deepEqual(keys.map((k) => k.state).sort(), ['signing', 'standby']);
  });
});
