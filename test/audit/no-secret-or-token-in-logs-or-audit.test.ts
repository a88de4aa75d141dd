/**
 * A full run of everything a server sees (clients made, secrets imported and rotated, tokens issued,
 * introspected and revoked, wrong and malformed credentials, secrets sent where they do not belong,
 * keys rotated, clients disabled and deleted), then every log line and every audit row is searched
 * for every secret, token, hash and key it used: none may appear, in any form a careless line would
 * write it (as is, percent-encoded, inside a Basic header, a JWT's signature alone).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('no secret or token in any log line or audit row of a full run', () => {
  let server: TestServer;
  const secrets: string[] = [];
  const tokens: string[] = [];

  const post = (path: string, authorization: string | undefined, body: string) =>
    fetch(`${server.origin}/authz/d1/v1/oauth2/${path}`, { method: 'POST', headers: { ...FORM, ...(authorization ? { authorization } : {}) }, body });
  const tokenFor = async (id: string, secret: string, scope?: string) => {
    const res = await server.token(id, secret, scope ? { grant_type: 'client_credentials', scope } : undefined);
    assert.equal(res.status, 200);
    tokens.push(res.json.access_token);
    return res.json.access_token as string;
  };

  before(async () => {
    server = await startTestServer({ scryptCost: 14 });
    secrets.push(server.masterKey);
    const d1 = (await server.createClient('d1', { scopes: ['consumer', 'otp'] })).clientSecret;
    const imported = 'Imported-Secret-With-Symbols:%/+=' + 'k'.repeat(20);
    await server.createClient('bank-import', {}, { secret: imported });
    const rs = (await server.createClient('resource-server', { introspect: true, tokens: false })).clientSecret;
    secrets.push(d1, imported, rs);

    const t1 = await tokenFor('d1', d1, 'consumer');
    await tokenFor('d1', d1);
    const t3 = await tokenFor('bank-import', imported);

    // Wrong, unknown, malformed and misplaced credentials.
    const guesses = ['wrong-guess-1-' + 'g'.repeat(24), 'wrong:guess%2-' + 'h'.repeat(24)];
    secrets.push(...guesses);
    for (const g of guesses) {
      assert.equal((await server.token('d1', g)).status, 401);
      assert.equal((await server.token('unknown-client', g)).status, 401);
    }
    assert.equal((await post('token', undefined, `grant_type=client_credentials&client_id=d1&client_secret=${encodeURIComponent(d1)}`)).status, 401);
    assert.equal((await post('token', basicAuth('d1', d1), `grant_type=client_credentials&client_secret=${encodeURIComponent(d1)}`)).status, 400);
    assert.equal((await post('token', `Basic ${Buffer.from(`d1${d1}`).toString('base64')}`, 'grant_type=client_credentials')).status, 401);
    assert.equal((await post('token', `Bearer ${t1}`, 'grant_type=client_credentials')).status, 401);

    // Introspection and revocation carry tokens in their bodies.
    assert.equal((await post('introspect', basicAuth('resource-server', rs), `token=${t1}`)).status, 200);
    assert.equal((await post('introspect', basicAuth('resource-server', 'not-' + rs), `token=${t1}`)).status, 401);
    assert.equal((await post('revoke', basicAuth('bank-import', imported), `token=${t3}`)).status, 200);
    assert.equal((await post('revoke', basicAuth('bank-import', imported), `token=${t1}`)).status, 200);
    const feed = await fetch(`${server.origin}/authz/d1/v1/oauth2/revocations`, { headers: { authorization: basicAuth('resource-server', rs) } });
    assert.equal(feed.status, 200);

    // Admin changes.
    const rotated = (await server.app.clients.rotateSecret('d1', 30)).clientSecret;
    secrets.push(rotated);
    await tokenFor('d1', rotated);
    await server.app.clients.update('d1', { name: 'D1 production' });
    await server.app.clients.setEnabled('bank-import', false);
    await server.app.keys.rotate();
    await server.app.clients.delete('bank-import');
    await server.app.audit!.flush();
  });
  after(() => server?.close());

  it('the run logged and audited what it did (the search below searches something)', async () => {
    const rows = await server.app.store.db.selectFrom('audit_events').selectAll().execute();
    const types = new Set(rows.map((r) => r.type));
    for (const t of ['client.created', 'token.issued', 'client.authentication_failed', 'token.revoked', 'client.secret_rotated', 'client.updated', 'client.disabled', 'key.rotated', 'key.retired', 'client.deleted']) {
      assert.ok(types.has(t), `no ${t} row`);
    }
    assert.ok(server.logs.length > 30);
  });

  it('finds none of them in any log line or audit row', async () => {
    const rows = await server.app.store.db.selectFrom('audit_events').selectAll().execute();
    const hashes = (await server.app.store.db.selectFrom('client_secrets').select('secret_hash').execute()).map((r) => r.secret_hash);
    const keys = (await server.app.store.db.selectFrom('signing_keys').select('private_key_enc').execute()).map((r) => r.private_key_enc);
    const haystacks = [...server.logs.map((l, i) => [`log line ${i}`, l] as const), ...rows.map((r) => [`audit row ${r.id} (${r.type})`, JSON.stringify(r)] as const)];
    const needles = new Map<string, string>();
    for (const s of secrets) {
      needles.set(s, 'a secret');
      needles.set(encodeURIComponent(s), 'a percent-encoded secret');
    }
    for (const [id, s] of [['d1', secrets[1]], ['bank-import', secrets[2]], ['resource-server', secrets[3]]] as const) needles.set(basicAuth(id, s!).slice(6), 'a Basic credential');
    for (const t of tokens) {
      needles.set(t, 'a token');
      needles.set(t.split('.')[2]!, "a token's signature");
    }
    for (const h of hashes) needles.set(h.split('$').at(-1)!, 'a secret hash');
    for (const k of keys) if (k !== null) needles.set(k.slice(-40), 'sealed key material');
    needles.set('$scrypt$', 'a PHC hash');
    needles.set('PRIVATE KEY', 'key material');
    const found: string[] = [];
    for (const [where, text] of haystacks) for (const [needle, what] of needles) if (text.includes(needle)) found.push(`${what} in ${where}`);
    assert.deepEqual(found, []);
  });
});
