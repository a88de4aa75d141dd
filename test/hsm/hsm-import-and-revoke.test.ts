/**
 * Keys made by the bank's own HSM ceremony are adopted with `keys import-hsm --label L` (only
 * sensitive, non-extractable signing keys), and `keys revoke` works for HSM keys as for local ones:
 * the standby, generated in the token too, takes over at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { jwksKids, kidOf, tokenAt } from '../helpers/http.js';
import { runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { introspect, type Caller } from '../helpers/token-status.js';
import { waitFor } from '../helpers/wait.js';

describe('pkcs11 provider: key ceremony import and emergency withdrawal', () => {
  let hsm: SoftHsmToken;
  let server: TestServer;
  let env: Record<string, string>;
  const caller: Caller = { clientId: 'hsm-rs', clientSecret: 'i'.repeat(32) };

  before(async () => {
    hsm = createSoftHsmToken();
    process.env.SOFTHSM2_CONF = hsm.conf;
    server = await startTestServer({ ...hsm.settings, syncIntervalMs: 100 });
    await server.createClient(caller.clientId, { introspect: true }, { secret: caller.clientSecret });
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...hsm.env,
      D1AUTHZ_DATABASE_URL: server.database.url,
      D1AUTHZ_KEY_PROVIDER: 'pkcs11',
      D1AUTHZ_PKCS11_MODULE: hsm.module,
      D1AUTHZ_PKCS11_TOKEN_LABEL: hsm.label,
      D1AUTHZ_PKCS11_PIN: hsm.pin,
    };
  });
  after(async () => {
    await server?.close();
    hsm?.drop();
  });

  const verify = (token: string) => jwtVerify(token, createRemoteJWKSet(new URL(server.jwksUrl), { cooldownDuration: 0 }), { issuer: server.issuer, typ: 'at+jwt' });

  it('adopts a ceremony key by its label; it is published, then signs', async () => {
    hsm.tool(['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'ceremony-2026', '--id', 'c0ffee01', '--usage-sign', '--sensitive']);
    const res = await runCli(['keys', 'import-hsm', '--label', 'ceremony-2026', '--activate-in', '0', '--force', '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    const key = JSON.parse(res.stdout);
    assert.equal(key.provider, 'pkcs11');
    assert.equal(key.alg, 'ES256');
    const row = await server.app.store.db.selectFrom('signing_keys').selectAll().where('kid', '=', key.kid).executeTakeFirstOrThrow();
    assert.equal(row.hsm_key_id, 'c0ffee01', 'the ceremony\'s CKA_ID is what the store keeps');
    assert.equal(row.private_key_enc, null);
    const token = await waitFor('a token signed by the imported key', async () => {
      const r = await tokenAt(server.origin, caller.clientId, caller.clientSecret);
      return kidOf(r.json.access_token) === key.kid ? (r.json.access_token as string) : undefined;
    }, 10_000, 50);
    assert.equal((await verify(token)).protectedHeader.kid, key.kid);
  });

  it('refuses an extractable key, and a label that is not there', async () => {
    hsm.tool(['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'exportable', '--id', 'c0ffee02', '--usage-sign', '--extractable']);
    const extractable = await runCli(['keys', 'import-hsm', '--label', 'exportable'], env);
    assert.equal(extractable.code, 1);
    assert.match(extractable.stderr, /extractable or not sensitive/);
    const missing = await runCli(['keys', 'import-hsm', '--label', 'nothing-here'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /expected one private key labelled "nothing-here" in the token, found 0/);
  });

  it('keys revoke on an HSM key: the standby (also in the token) signs at once, the old token is inactive', async () => {
    const keys = await server.app.keys.list();
    const signing = keys.find((k) => k.state === 'signing')!;
    const standby = keys.find((k) => k.state === 'standby')!;
    assert.equal(standby.provider, 'pkcs11');
    const old = await tokenAt(server.origin, caller.clientId, caller.clientSecret);
    assert.equal(kidOf(old.json.access_token), signing.kid);
    const res = await runCli(['keys', 'revoke', signing.kid, '--reason', 'HSM partition audit finding', '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).promoted_kid, standby.kid);
    await waitFor('the kid gone from the JWKS', async () => !(await jwksKids(server.origin)).includes(signing.kid), 10_000, 20);
    const next = await tokenAt(server.origin, caller.clientId, caller.clientSecret);
    assert.equal(next.status, 200);
    assert.equal(kidOf(next.json.access_token), standby.kid);
    await verify(next.json.access_token);
    assert.deepEqual((await introspect(server, caller, old.json.access_token)).json, { active: false });
  });
});
