/**
 * `d1-authz keys revoke <kid> --reason TEXT`: an emergency withdrawal of a signing key. The kid leaves
 * every node's JWKS and signing set within one sync interval, the pre-published standby signs at once
 * (no failed token request meanwhile), and the withdrawn key's tokens are inactive at introspection,
 * listed in the revocation feed, and refused by a guard once it refetches the JWKS.
 */
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { createGuard } from '@d1-authz/guard';
import { jwksKids, kidOf, tokenAt } from '../helpers/http.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { introspect, readFeed, type Caller } from '../helpers/token-status.js';
import { waitFor } from '../helpers/wait.js';

describe('keys revoke', () => {
  let a: TestServer;
  let b: TestServer;
  let env: Record<string, string>;
  const caller: Caller = { clientId: 'rs-bank', clientSecret: 'r'.repeat(32) };

  before(async () => {
    a = await startTestServer({ syncIntervalMs: 100, tokenTtl: 300 });
    b = await startTestServer({ issuer: a.issuer, syncIntervalMs: 100, tokenTtl: 300 }, { database: a.database, masterKey: a.masterKey });
    await a.createClient(caller.clientId, { introspect: true }, { secret: caller.clientSecret });
    env = cliEnv(a.database.url, a.masterKey);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  const states = async () => Object.fromEntries((await a.app.keys.list()).map((k) => [k.kid, k]));

  it('withdraws the signing key on every node at once; the standby signs; zero failed requests; its tokens are inactive', async (t) => {
    const before = Object.values(await states());
    const signing = before.find((k) => k.state === 'signing')!;
    const standby = before.find((k) => k.state === 'standby')!;
    assert.ok(signing && standby, 'a signing key and a standby key from the first start');
    for (const node of [a, b]) assert.ok((await jwksKids(node.origin)).includes(standby.kid), 'the standby is published before any emergency');

    const leaked = await tokenAt(a.origin, caller.clientId, caller.clientSecret);
    assert.equal(kidOf(leaked.json.access_token), signing.kid);
    const guard = createGuard({ issuer: a.issuer, audience: 'd1-issuer-api', jwksUri: a.jwksUrl });
    await guard.verify(`Bearer ${leaked.json.access_token}`);

    const failures: string[] = [];
    const kidsAfter = new Map<string, Set<string>>([
      [a.origin, new Set()],
      [b.origin, new Set()],
    ]);
    let revokedAt = Infinity;
    let stop = false;
    const load = async (node: TestServer) => {
      while (!stop) {
        const res = await tokenAt(node.origin, caller.clientId, caller.clientSecret);
        if (res.status !== 200) failures.push(`${res.status} ${JSON.stringify(res.json)}`);
        else if (Date.now() > revokedAt) kidsAfter.get(node.origin)!.add(kidOf(res.json.access_token));
      }
    };
    const loops = [load(a), load(b)];
    let goneMs: number;
    try {
      const res = await runCli(['keys', 'revoke', signing.kid, '--reason', 'private key found in a heap dump', '--json'], env);
      assert.equal(res.code, 0, res.stderr);
      revokedAt = Date.now();
      const result = JSON.parse(res.stdout);
      assert.equal(result.kid, signing.kid);
      assert.equal(result.promoted_kid, standby.kid, 'the standby takes over');
      assert.ok(result.standby_kid && result.standby_kid !== standby.kid, 'a new standby is made');

      await waitFor('the kid gone from both nodes\' JWKS', async () => {
        for (const node of [a, b]) if ((await jwksKids(node.origin)).includes(signing.kid)) return false;
        return true;
      }, 10_000, 20);
      goneMs = Date.now() - revokedAt;
      await waitFor('both nodes signing with the former standby', () => [...kidsAfter.values()].every((kids) => kids.has(standby.kid)), 10_000, 20);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    t.diagnostic(`kid gone from both JWKS ${goneMs} ms after the CLI returned (sync interval 100 ms)`);
    assert.deepEqual(failures, [], 'no token request failed during the withdrawal');

    // Introspection on either node: the withdrawn key's token is inactive.
    for (const node of [a, b]) {
      const res = await introspect(node, caller, leaked.json.access_token);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, { active: false });
    }
    // The revocation feed names the key, so a feed-following resource server can drop its tokens too.
    const feed = await readFeed(b, caller);
    assert.equal(feed.status, 200);
    assert.ok(feed.json.revocations.some((r: any) => r.type === 'key' && r.kid === signing.kid && typeof r.until === 'number'), JSON.stringify(feed.json));
    // A guard refuses the token once it refetches the JWKS (its max age, or sooner on demand).
    await guard.refreshKeys();
    await assert.rejects(guard.verify(`Bearer ${leaked.json.access_token}`));
    const jwks = (await (await fetch(b.jwksUrl)).json()) as JSONWebKeySet;
    await assert.rejects(jwtVerify(leaked.json.access_token, createLocalJWKSet(jwks)), 'jose finds no key for it either');

    const after = await states();
    assert.equal(after[signing.kid]!.state, 'revoked');
    assert.equal(after[signing.kid]!.revokeReason, 'private key found in a heap dump');
    assert.equal(after[standby.kid]!.state, 'signing');
    assert.equal(Object.values(after).filter((k) => k.state === 'standby').length, 1, 'a standby is kept at all times');
  });

  it('withdrawing the standby replaces it and leaves signing alone; unknown or already withdrawn kids are refused', async () => {
    const before = Object.values(await states());
    const signing = before.find((k) => k.state === 'signing')!;
    const standby = before.find((k) => k.state === 'standby')!;
    const res = await runCli(['keys', 'revoke', standby.kid, '--reason', 'drill'], env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /not the signing key/);
    const after = await states();
    assert.equal(after[standby.kid]!.state, 'revoked');
    assert.equal(after[signing.kid]!.state, 'signing');
    assert.equal(Object.values(after).filter((k) => k.state === 'standby').length, 1);
    await waitFor('the new standby published', async () => (await jwksKids(a.origin)).includes(Object.values(after).find((k) => k.state === 'standby')!.kid), 5000);

    const again = await runCli(['keys', 'revoke', standby.kid, '--reason', 'twice'], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not published any more/);
    const unknown = await runCli(['keys', 'revoke', 'no-such-kid', '--reason', 'x'], env);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no key no-such-kid/);
    const noReason = await runCli(['keys', 'revoke', signing.kid], env);
    assert.notEqual(noReason.code, 0);
    assert.match(noReason.stderr, /--reason/);
  });

  it('audits each withdrawal as key.revoked: who, which kid, why, and which key took over', async () => {
    const res = await runCli(['audit', '--json', '--event', 'key.revoked'], env);
    assert.equal(res.code, 0, res.stderr);
    const events = JSON.parse(res.stdout) as any[];
    assert.deepEqual(events.map((e) => e.details.reason).sort(), ['drill', 'private key found in a heap dump']);
    for (const e of events) {
      assert.equal(e.type, 'key.revoked');
      assert.equal(e.actor, `os:${userInfo().username}`);
      assert.equal((await states())[e.details.kid]?.state, 'revoked');
    }
    const emergency = events.find((e) => e.details.reason !== 'drill');
    assert.equal((await states())[emergency.details.promoted_kid]?.state, 'signing', 'the key that took over is named');
    assert.equal(events.find((e) => e.details.reason === 'drill').details.promoted_kid, null);
  });
});
