/**
 * Keys held in a PKCS#11 token (SoftHSM2): generated there, used there, never in the store or the
 * process. Tokens signed in the token verify with jose against the JWKS; the token shows the private
 * keys sensitive and non-extractable and refuses to read CKA_VALUE; the database holds no private
 * material; a retired key's objects are destroyed in the token after the retention.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { KeyService, RETIRED_KEY_RETENTION_MS } from '../../src/domain/keys/key-service.js';
import { tokenAt } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { waitFor } from '../helpers/wait.js';

describe('pkcs11 key provider on SoftHSM2', () => {
  let hsm: SoftHsmToken;
  let server: TestServer;
  const secret = 'h'.repeat(32);

  before(async () => {
    hsm = createSoftHsmToken();
    // SoftHSM2 reads its config when the module is initialised, in this process.
    process.env.SOFTHSM2_CONF = hsm.conf;
    server = await startTestServer({ ...hsm.settings, tokenTtl: 60, maxTokenTtl: 60, clockSkew: 0 });
    await server.createClient('hsm-client', {}, { secret });
  });
  after(async () => {
    await server?.close();
    hsm?.drop();
  });

  const verify = async (token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(server.jwksUrl), { cooldownDuration: 0 }), { issuer: server.issuer, typ: 'at+jwt', clockTolerance: 30 });

  it('signs ES256 in the token; jose verifies it against the JWKS; /readyz reports the HSM', async () => {
    const res = await server.token('hsm-client', secret);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    const { payload, protectedHeader } = await verify(res.json.access_token);
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.client_id, 'hsm-client');
    const ready = await fetch(`${server.origin}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual((await ready.json()).checks, { store: 'ok', signing_key: 'ok', keys_loaded: 'ok', hsm: 'ok' });
  });

  for (const alg of ['RS256', 'PS256'] as const) {
    it(`rotates to an ${alg} key generated in the token and signs with it`, async () => {
      const key = await server.app.keys.rotate({ alg, activateInSeconds: 0 });
      assert.equal(key.provider, 'pkcs11');
      const token = await waitFor(`a token signed by ${key.kid}`, async () => {
        const res = await server.token('hsm-client', secret);
        assert.equal(res.status, 200);
        return decodeProtectedHeader(res.json.access_token).kid === key.kid ? (res.json.access_token as string) : undefined;
      }, 10_000);
      const { protectedHeader } = await verify(token);
      assert.equal(protectedHeader.alg, alg);
    });
  }

  it('keeps every private key in the token sensitive and never extractable; CKA_VALUE cannot be read', async () => {
    const keys = await server.app.keys.list();
    assert.ok(keys.length >= 4, 'first key, standby, RS256, PS256');
    const listing = hsm.tool(['--list-objects', '--type', 'privkey']);
    for (const key of keys) {
      // pkcs11-tool prints one block per object: its label (the kid), then its flags.
      const block = listing.split(/\n(?=Private Key Object)/).find((b) => b.includes(`label:      ${key.kid}`));
      assert.ok(block, `private key ${key.kid} is in the token, labelled by its kid:\n${listing}`);
      const access = /Access:\s+(.*)/.exec(block)![1]!.split(', ');
      assert.ok(access.includes('sensitive') && access.includes('never extractable') && !access.includes('extractable'), `pkcs11-tool shows ${access.join(', ')}`);
      assert.match(block, /Usage:\s+sign\n/, 'the key may sign and do nothing else');
      const id = /ID:\s+([0-9a-f]+)/.exec(block)![1]!;
      assert.equal(Buffer.from(id, 'hex').toString(), key.kid, 'CKA_ID is the kid');
      // pkcs11-tool does not even try to read a private key: ask the token directly.
      const attrs = hsm.privateKeyAttributes(id, ['CKA_SENSITIVE', 'CKA_EXTRACTABLE', 'CKA_TOKEN', 'CKA_VALUE', 'CKA_PRIVATE_EXPONENT']);
      assert.equal(attrs.CKA_SENSITIVE, '01');
      assert.equal(attrs.CKA_EXTRACTABLE, '00');
      assert.equal(attrs.CKA_TOKEN, '01');
      const secretPart = key.alg === 'ES256' ? 'CKA_VALUE' : 'CKA_PRIVATE_EXPONENT';
      assert.match(attrs[secretPart]!, /^error CKR_ATTRIBUTE_SENSITIVE/, `reading ${secretPart} fails`);
    }
  });

  it('stores only public material, the kid and the CKA_ID: no private key, sealed or not', async () => {
    const rows = await server.app.store.db.selectFrom('signing_keys').selectAll().execute();
    assert.ok(rows.length >= 4);
    for (const row of rows) {
      assert.equal(row.provider, 'pkcs11');
      assert.equal(row.private_key_enc, null);
      assert.equal(Buffer.from(row.hsm_key_id!, 'hex').toString(), row.kid);
      const jwk = JSON.parse(row.public_jwk);
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(jwk[member], undefined, `public_jwk has no ${member}`);
      assert.doesNotMatch(JSON.stringify(row), /PRIVATE KEY|^v1\./);
    }
  });

  it('destroys a retired key in the token once its retention has passed; keys list shows it destroyed', async () => {
    // The first key retired when RS256 took over (after maxTokenTtl): look from past its retention.
    const later = () => Date.now() + RETIRED_KEY_RETENTION_MS + 120_000;
    const future = new KeyService(server.app.repos.keys, server.app.keyProviders, server.app.config, later);
    const retired = (await future.list()).filter((k) => k.state === 'retired');
    assert.ok(retired.length >= 1, 'the keys rotated out are retired by then');
    assert.ok(await future.pruneRetired() >= retired.length);
    const listing = hsm.tool(['--list-objects']);
    for (const key of retired) assert.ok(!listing.includes(key.kid), `no object of ${key.kid} left in the token`);
    const after = Object.fromEntries((await future.list()).map((k) => [k.kid, k]));
    for (const key of retired) {
      assert.equal(after[key.kid]!.state, 'destroyed');
      assert.ok(after[key.kid]!.destroyedAt);
    }
    // The keys still published are untouched and still sign.
    // A connection of its own: pkcs11-tool ran synchronously in this process, past the idle keep-alive of the last one.
    const res = await tokenAt(server.origin, 'hsm-client', secret);
    assert.equal(res.status, 200);
    await verify(res.json.access_token);
  });
});
