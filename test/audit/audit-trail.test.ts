/**
 * The audit trail end to end: every event class is written by what really causes it (the CLI as the
 * operator, token requests over HTTP, RFC 7009 revocation) and read back with `d1-authz audit --json`.
 */
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { cliEnv, runCli } from '../helpers/process.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('audit trail: every event class, read back by `d1-authz audit --json`', () => {
  let server: TestServer;
  let env: Record<string, string>;
  // The CLI is a process start each (slow on a loaded machine): admin changes go through the same
  // services in-process, one through the CLI itself, and the trail is read back by the CLI.
  const cli = async (...args: string[]) => {
    const r = await runCli(args, env);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const actor = `os:${userInfo().username}`;
  const secrets: string[] = [];
  let token = '';
  let jti = '';
  let exp = 0;
  let newKid = '';
  let oldKids: string[] = [];
  const guess = 'guessed-secret-' + 'x'.repeat(20);
  let all: any[] = [];
  const of = (type: string, clientId?: string) => all.filter((e) => e.type === type && (clientId === undefined || e.client_id === clientId));

  before(async () => {
    server = await startTestServer({ scryptCost: 14 });
    env = cliEnv(server.database.url, server.masterKey);
    const created = JSON.parse(await cli('client', 'create', 'audited', '--scopes', 'a b', '--json'));
    secrets.push(created.client_secret);
    const clients = server.app.clients;
    await clients.update('audited', { name: 'Audited Bank', defaultScopes: ['a'] });
    await clients.setEnabled('audited', false);
    await clients.setEnabled('audited', true);
    secrets.push((await clients.rotateSecret('audited', 60)).clientSecret);

    const { clientSecret } = await server.createClient('tokens', { scopes: ['a', 'b'] });
    secrets.push(clientSecret);
    const res = await server.token('tokens', clientSecret, { grant_type: 'client_credentials', scope: 'b' }, { 'x-correlation-id': 'corr-issued-1' });
    assert.equal(res.status, 200);
    token = res.json.access_token;
    ({ jti, exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()));

    await server.createClient('victim');
    assert.equal((await server.token('victim', guess, undefined, { 'x-correlation-id': 'corr-guess' })).status, 401);
    assert.equal((await server.token('nobody-here', guess)).status, 401);

    const revoke = await fetch(`${server.origin}/authz/d1/v1/oauth2/revoke`, {
      method: 'POST',
      headers: { ...FORM, authorization: basicAuth('tokens', clientSecret) },
      body: new URLSearchParams({ token }).toString(),
    });
    assert.equal(revoke.status, 200);

    // The standby key is not replaced by a rotation (it waits for an emergency): only the signing keys are.
    oldKids = (await server.app.keys.list()).filter((k) => k.state !== 'standby').map((k) => k.kid);
    newKid = (await server.app.keys.rotate()).kid;
    await clients.delete('audited');
    await server.app.audit!.flush();
    all = JSON.parse(await cli('audit', '--json', '--limit', '10000'));
  });
  after(() => server?.close());

  it('records admin changes with the OS user and the record before and after, never a secret or hash', () => {
    const events = all.filter((e) => e.client_id === 'audited');
    assert.deepEqual(
      events.map((e) => e.type),
      ['client.deleted', 'client.secret_rotated', 'client.enabled', 'client.disabled', 'client.updated', 'client.created'],
      'newest first',
    );
    for (const e of events) {
      assert.equal(e.actor, actor);
      const text = JSON.stringify(e);
      for (const secret of secrets) assert.ok(!text.includes(secret), `${e.type} holds a secret`);
      assert.ok(!text.includes('$scrypt$'), `${e.type} holds a hash`);
    }
    const [deleted, rot, enabled, disabled, updated, create] = events;
    assert.equal(create.details.before, null);
    assert.deepEqual(create.details.after.allowed_scopes, ['a', 'b']);
    assert.equal(updated.details.before.name, 'audited');
    assert.equal(updated.details.after.name, 'Audited Bank');
    assert.deepEqual(updated.details.after.default_scopes, ['a']);
    assert.equal(disabled.details.before.enabled, true);
    assert.equal(disabled.details.after.enabled, false);
    assert.equal(enabled.details.after.enabled, true);
    assert.equal(rot.details.grace_seconds, 60);
    assert.equal(rot.details.before.secrets.length, 1);
    assert.equal(rot.details.after.secrets.length, 2);
    assert.ok(rot.details.after.secrets.some((s: any) => s.expires_at !== null), 'the old secret now ends');
    assert.equal(deleted.details.before.name, 'Audited Bank');
    assert.equal(deleted.details.after, null);
  });

  it('records token.issued with client, scopes, jti, exp, address and correlation id', () => {
    const [issued, ...more] = of('token.issued', 'tokens');
    assert.equal(more.length, 0);
    assert.equal(issued.address, '127.0.0.1');
    assert.equal(issued.correlation_id, 'corr-issued-1');
    assert.deepEqual(issued.details.scopes, ['b']);
    assert.equal(issued.details.jti, jti);
    assert.equal(issued.details.exp, new Date(exp * 1000).toISOString());
  });

  it('records client.authentication_failed with the presented id and reason class, never the presented secret', () => {
    const [victim] = of('client.authentication_failed', 'victim');
    const [nobody] = of('client.authentication_failed', 'nobody-here');
    assert.equal(victim.details.reason, 'wrong_secret');
    assert.equal(victim.correlation_id, 'corr-guess');
    assert.equal(victim.address, '127.0.0.1');
    assert.equal(nobody.details.reason, 'unknown_client');
  });

  it('records token.revoked (RFC 7009) by the client that revoked it', () => {
    const [revoked] = of('token.revoked');
    assert.equal(revoked.actor, 'tokens');
    assert.equal(revoked.client_id, 'tokens');
    assert.equal(revoked.details.jti, jti);
    assert.equal(revoked.address, '127.0.0.1');
  });

  it('records key.rotated for the first key and a rotation, and key.retired for each key replaced', () => {
    const rotated = of('key.rotated');
    assert.deepEqual(rotated.map((e) => [e.details.kid, e.details.first_key]), [[newKid, false], [oldKids[0], true]]);
    const retired = of('key.retired');
    assert.deepEqual(retired.map((e) => e.details.kid).sort(), [...oldKids].sort());
    for (const e of retired) assert.equal(e.details.replaced_by, newKid);
  });

  it('no event holds a secret, a presented secret, a hash or the token', () => {
    const text = JSON.stringify(all);
    for (const s of [...secrets, guess, token, token.split('.')[2]!, '$scrypt$']) assert.ok(!text.includes(s), `found ${s.slice(0, 12)}...`);
  });

  it('filters by client, event, time and limit, newest first; a bad --since is refused', async () => {
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].at >= all[i].at, 'newest first');
    const middle = all[Math.floor(all.length / 2)].at;
    const filtered = JSON.parse(await cli('audit', '--json', '--client', 'audited', '--event', 'client.updated', '--since', all.at(-1).at, '--until', all[0].at, '--limit', '1'));
    assert.deepEqual(filtered.map((e: any) => e.type), ['client.updated']);
    const since = all.filter((e) => e.at >= middle);
    const bad = await runCli(['audit', '--since', 'yesterday', '--until', middle], env);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /ISO-8601/);
    assert.ok(since.length > 0);
  });

  it('writes the same events to the log: a failure at warn, a token at info', () => {
    const lines = server.logs.map((l) => JSON.parse(l));
    const failed = lines.find((l) => l.audit === 'client.authentication_failed' && l.client_id === 'victim');
    assert.ok(failed, 'a failure line');
    assert.equal(failed.level, 40);
    assert.equal(failed.details.reason, 'wrong_secret');
    assert.equal(failed.address, '127.0.0.1');
    const issued = lines.find((l) => l.audit === 'token.issued' && l.client_id === 'tokens');
    assert.ok(issued, 'a token line');
    assert.equal(issued.level, 30);
    assert.equal(issued.details.jti, jti);
    assert.ok(lines.some((l) => l.audit === 'client.updated' && l.actor === actor), 'an admin change made by the server process');
  });
});
