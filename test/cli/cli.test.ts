/** The operator's view: every CLI command against a real store, and a real `serve` process seeing the changes. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { basicAuth } from '../helpers/server.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('d1-authz CLI', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let serve: ServeProcess;
  const token = (id: string, secret: string) =>
    fetch(`${serve.origin}/authz/d1/v1/oauth2/token`, { method: 'POST', headers: { ...FORM, authorization: basicAuth(id, secret) }, body: 'grant_type=client_credentials' });
  // The server learns of CLI changes on its next sync (every 100 ms here); on a loaded CI machine that can take
  // longer than a fixed sleep, so wait for the expected answer with a bound instead of guessing a delay.
  const SYNC_BOUND_MS = 5_000;
  const tokenAnswers = (id: string, secret: string, status: number) =>
    waitFor(`${id} to get ${status}`, async () => (await token(id, secret)).status === status && true, SYNC_BOUND_MS);

  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_SYNC_INTERVAL_MS: '100' });
    const migrated = await runCli(['migrate'], env);
    assert.equal(migrated.code, 0, migrated.stderr);
    serve = await spawnServe(env, await freePort());
  });
  after(async () => {
    await serve?.stop();
    await db.drop();
  });

  it('client create --json prints the id and a generated 256-bit secret, and the running server accepts it', async () => {
    const r = await runCli(['client', 'create', 'd1-prod', '--scopes', 'consumer otp', '--default-scopes', 'consumer', '--ttl', '600', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.client_id, 'd1-prod');
    assert.match(out.client_secret, /^[A-Za-z0-9_-]{43}$/);
    const res = await token('d1-prod', out.client_secret);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.expires_in, '600');
    assert.equal(body.scope, 'consumer');
  });

  it('imports a dictated secret only with --force when it is short', async () => {
    const refused = await runCli(['client', 'create', 'is_tbank01', '--secret', '123', '--json'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /shorter than 32 characters; use --force/);
    const forced = await runCli(['client', 'create', 'is_tbank01', '--secret', '123', '--force', '--json'], env);
    assert.equal(forced.code, 0, forced.stderr);
    const forcedJson = JSON.parse(forced.stdout);
    assert.equal(forcedJson.client_id, 'is_tbank01');
    assert.equal(forcedJson.client_secret, '123');
    const res = await fetch(`${serve.origin}/authz/d1/v1/oauth2/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: 'Basic aXNfdGJhbmswMToxMjM=' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
  });

  it('list and show have --json and never print secrets or hashes', async () => {
    const list = await runCli(['client', 'list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const ids = JSON.parse(list.stdout).map((c: { client_id: string }) => c.client_id);
    assert.ok(ids.includes('d1-prod') && ids.includes('is_tbank01'));
    const show = await runCli(['client', 'show', 'is_tbank01', '--json'], env);
    const view = JSON.parse(show.stdout);
    assert.equal(view.secrets.length, 1);
    assert.doesNotMatch(show.stdout + list.stdout, /scrypt|"123"/);
  });

  it('update changes scopes; invalid settings are refused with a message', async () => {
    const ok = await runCli(['client', 'update', 'is_tbank01', '--scopes', 'a b', '--default-scopes', 'b', '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).scopes, ['a', 'b']);
    const bad = await runCli(['client', 'update', 'is_tbank01', '--default-scopes', 'z'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /default scopes must be among the allowed scopes: z/);
    const missing = await runCli(['client', 'show', 'nobody'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no client nobody/);
  });

  it('disable refuses the client on the running server within the sync interval; enable restores it', async () => {
    const created = JSON.parse((await runCli(['client', 'create', 'toggle', '--json'], env)).stdout);
    assert.equal((await token('toggle', created.client_secret)).status, 200);
    assert.equal((await runCli(['client', 'disable', 'toggle'], env)).code, 0);
    await tokenAnswers('toggle', created.client_secret, 401);
    assert.equal((await runCli(['client', 'enable', 'toggle'], env)).code, 0);
    await tokenAnswers('toggle', created.client_secret, 200);
  });

  it('rotate-secret --grace keeps the old secret working, delete removes the client', async () => {
    const created = JSON.parse((await runCli(['client', 'create', 'rot', '--json'], env)).stdout);
    const rotated = await runCli(['client', 'rotate-secret', 'rot', '--grace', '60', '--json'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const out = JSON.parse(rotated.stdout);
    await tokenAnswers('rot', out.client_secret, 200);
    assert.equal((await token('rot', created.client_secret)).status, 200);
    assert.equal((await runCli(['client', 'delete', 'rot'], env)).code, 0);
    await tokenAnswers('rot', out.client_secret, 401);
  });

  it('keys list and keys rotate: the new key appears in the running server JWKS before it signs', async () => {
    const before = JSON.parse((await runCli(['keys', 'list', '--json'], env)).stdout);
    assert.equal(before.filter((k: { state: string }) => k.state === 'signing').length, 1);
    const rotated = await runCli(['keys', 'rotate', '--activate-in', '3600', '--json'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const key = JSON.parse(rotated.stdout);
    assert.equal(key.state, 'pending');
    await waitFor('the pending key in the JWKS', async () => {
      const jwks = await (await fetch(`${serve.origin}/authz/d1/v1/.well-known/jwks.json`)).json();
      return jwks.keys.some((k: { kid: string }) => k.kid === key.kid);
    }, SYNC_BOUND_MS);
    const secret = JSON.parse((await runCli(['client', 'rotate-secret', 'd1-prod', '--json'], env)).stdout).client_secret;
    await tokenAnswers('d1-prod', secret, 200);
    const res = await (await token('d1-prod', secret)).json();
    const header = JSON.parse(Buffer.from(res.access_token.split('.')[0], 'base64url').toString());
    assert.notEqual(header.kid, key.kid, 'a pending key does not sign');
  });
});

describe('configuration errors', () => {
  it('stop start-up with a message naming the setting', async () => {
    const db = await createTestDatabase();
    try {
      const env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_PORT: 'eighty', D1AUTHZ_TOKEN_TTL: '-5' });
      const r = await runCli(['serve'], env);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /D1AUTHZ_PORT \(port\)/);
      assert.match(r.stderr, /D1AUTHZ_TOKEN_TTL \(tokenTtl\)/);
      // Admin commands name a missing store first (they never create one): the store exists here.
      assert.equal((await runCli(['migrate'], { ...env, D1AUTHZ_PORT: '8080', D1AUTHZ_TOKEN_TTL: '900' })).code, 0);
      const bad = await runCli(['client', 'list'], { ...env, D1AUTHZ_PORT: '8080', D1AUTHZ_TOKEN_TTL: '900', D1AUTHZ_MASTER_KEY: 'c2hvcnQ=' });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /master key must be 32 bytes/);
    } finally {
      await db.drop();
    }
  });
});
