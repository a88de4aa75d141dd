/** RFC 7009 token revocation, client-wide cut-offs, the revocation feed and pruning, through real HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../src/store/database.js';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import {
  accessToken,
  decodePayload,
  endpoints,
  form,
  introspect,
  postForm,
  readFeed,
  revoke,
  type Call,
  type Caller,
} from '../helpers/token-status.js';
import { eventually, sleep } from '../helpers/wait.js';

async function storeRows(server: TestServer, table: 'revocations' | 'changes'): Promise<any[]> {
  const store = openStore(server.database.url);
  try {
    return await store.db.selectFrom(table).selectAll().orderBy('seq').execute();
  } finally {
    await store.close();
  }
}

describe('POST /oauth2/revoke (RFC 7009)', () => {
  let server: TestServer;
  let rs: Caller;
  let app: Caller;
  let other: Caller;

  before(async () => {
    server = await startTestServer();
    rs = await server.createClient('rs', { introspect: true, tokens: false });
    app = await server.createClient('d1-app', { scopes: ['consumer'] });
    other = await server.createClient('other-app', { scopes: ['consumer'] });
  });
  after(() => server?.close());

  it('revokes the caller\'s own token: 200, empty body, no-store; the token is inactive; a repeat is a 200 no-op', async () => {
    const token = await accessToken(server, app);
    const res = await revoke(server, app, token, { token_type_hint: 'access_token' });
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual((await introspect(server, rs, token)).json, { active: false });
    const { jti, exp } = decodePayload(token);
    const rows = (await storeRows(server, 'revocations')).filter((r) => r.jti === jti);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].client_id, 'd1-app');
    assert.equal(rows[0].kind, 'token');
    assert.equal(Number(rows[0].expires_at), (exp + server.app.config.clockSkew) * 1000, 'kept until exp plus the allowed clock skew');
    assert.ok((await storeRows(server, 'changes')).some((c) => c.kind === 'revocation' && c.subject === jti), 'a revocation change is recorded');

    const again = await revoke(server, app, token);
    assert.equal(again.status, 200);
    assert.equal((await storeRows(server, 'revocations')).filter((r) => r.jti === jti).length, 1);
  });

  it('another client\'s token: 200 and nothing happens (RFC 7009 §2.1 ownership check)', async () => {
    const token = await accessToken(server, app);
    const res = await revoke(server, other, token);
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
    assert.equal((await introspect(server, rs, token)).json.active, true);
    // Not even a resource server may revoke someone else's token.
    assert.equal((await revoke(server, rs, token)).status, 200);
    assert.equal((await introspect(server, rs, token)).json.active, true);
  });

  it('invalid, unknown, foreign and expired tokens: 200 (RFC 7009 §2.2), nothing stored', async () => {
    const before = (await storeRows(server, 'revocations')).length;
    const foreignServer = await startTestServer();
    let foreign: string;
    try {
      const c = await foreignServer.createClient('d1-app', { scopes: ['consumer'] }, { secret: app.clientSecret });
      foreign = await accessToken(foreignServer, c);
    } finally {
      await foreignServer.close();
    }
    const short = await server.createClient('short', { ttl: 1 });
    const expired = await accessToken(server, short);
    await sleep(decodePayload(expired).exp * 1000 - Date.now() + 50);
    for (const token of ['garbage', 'a.b.c', foreign, 'x'.repeat(2000)]) {
      const res = await revoke(server, app, token);
      assert.equal(res.status, 200, token.slice(0, 20));
    }
    assert.equal((await revoke(server, short, expired)).status, 200);
    assert.equal((await storeRows(server, 'revocations')).length, before);
  });

  it('token_type_hint is ignored, whatever its value (§2.1: the search extends to every token type)', async () => {
    for (const hint of ['refresh_token', 'unknown_type']) {
      const token = await accessToken(server, app);
      assert.equal((await revoke(server, app, token, { token_type_hint: hint })).status, 200);
      assert.deepEqual((await introspect(server, rs, token)).json, { active: false }, hint);
    }
  });

  it('answers every bad request with an RFC 6749 §5.2 error, never a 5xx', async () => {
    const url = endpoints(server).revoke;
    const token = await accessToken(server, app);
    const cases: [string, Promise<Call>, number, string][] = [
      ['no credentials', postForm(url, form({ token }), null), 401, 'invalid_client'],
      ['wrong secret', postForm(url, form({ token }), { clientId: 'd1-app', clientSecret: 'nope-nope-nope-nope-nope-nope-nope' }), 401, 'invalid_client'],
      ['unknown client', postForm(url, form({ token }), { clientId: 'ghost', clientSecret: 'nope-nope-nope-nope-nope-nope-nope' }), 401, 'invalid_client'],
      ['secret in the body only', postForm(url, form({ token, client_id: 'd1-app', client_secret: app.clientSecret }), null), 401, 'invalid_client'],
      ['no token', postForm(url, form({ token_type_hint: 'access_token' }), app), 400, 'invalid_request'],
      ['empty body', postForm(url, '', app), 400, 'invalid_request'],
      ['repeated token', postForm(url, `token=${token}&token=${token}`, app), 400, 'invalid_request'],
      ['JSON body', postForm(url, JSON.stringify({ token }), app, { 'content-type': 'application/json' }), 400, 'invalid_request'],
      ['a text/plain body', fetchCall(url, { method: 'POST', body: form({ token }), headers: { authorization: basic(app) } }), 400, 'invalid_request'],
      ['body over the limit', postForm(url, form({ token: 'x'.repeat(10_000) }), app), 413, 'invalid_request'],
    ];
    for (const [label, pending, status, error] of cases) {
      const res = await pending;
      assert.equal(res.status, status, label);
      assert.equal(res.json.error, error, label);
      if (status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /, label);
    }
    assert.equal((await introspect(server, rs, token)).json.active, true, 'none of them revoked anything');
    const get = await fetch(url);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  it('a disabled client cannot revoke (it cannot authenticate), but its tokens are revoked by the disable itself', async () => {
    const c = await server.createClient('disabled-app', { scopes: ['consumer'] });
    const token = await accessToken(server, c);
    await server.app.clients.setEnabled('disabled-app', false);
    await eventually(async () => (await revoke(server, c, token)).status === 401, 5000);
    assert.deepEqual((await introspect(server, rs, token)).json, { active: false });
  });

  it('`d1-authz client disable` (the real CLI, another process) makes the client\'s tokens inactive on the running server', async () => {
    const c = await server.createClient('cli-disabled', { scopes: ['consumer'] });
    const token = await accessToken(server, c);
    const env = cliEnv(server.database.url, server.masterKey);
    const r = await runCli(['client', 'disable', 'cli-disabled'], env);
    assert.equal(r.code, 0, r.stderr);
    const ms = await eventually(async () => (await introspect(server, rs, token)).json.active === false, 3000, 10);
    assert.ok(ms < 3000);
    const enabled = await runCli(['client', 'enable', 'cli-disabled'], env);
    assert.equal(enabled.code, 0, enabled.stderr);
    await eventually(async () => (await server.token(c.clientId, c.clientSecret)).status === 200, 5000);
    assert.deepEqual((await introspect(server, rs, token)).json, { active: false }, 're-enabling does not bring old tokens back');
    assert.equal((await introspect(server, rs, await accessToken(server, c))).json.active, true);
  });

  it('`client create/update --introspect/--no-introspect` set the permission (CLI)', async () => {
    const env = cliEnv(server.database.url, server.masterKey);
    const created = await runCli(['client', 'create', 'cli-rs', '--introspect', '--no-tokens', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    const secret = JSON.parse(created.stdout).client_secret as string;
    const caller = { clientId: 'cli-rs', clientSecret: secret };
    const token = await accessToken(server, app);
    assert.equal((await introspect(server, caller, token)).status, 200);
    const shown = await runCli(['client', 'show', 'cli-rs', '--json'], env);
    assert.equal(JSON.parse(shown.stdout).introspect, true);
    assert.deepEqual(JSON.parse(shown.stdout).grant_types, []);
    const updated = await runCli(['client', 'update', 'cli-rs', '--no-introspect'], env);
    assert.equal(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, /introspect: +false/);
    await eventually(async () => (await introspect(server, caller, token)).status === 401, 5000);
    const plain = await runCli(['client', 'create', 'cli-plain', '--json'], env);
    assert.equal(JSON.parse((await runCli(['client', 'show', 'cli-plain', '--json'], env)).stdout).introspect, false, 'default: no permission');
    assert.equal(plain.code, 0);
  });

  it('store unreachable: revocation and the feed answer 503 temporarily_unavailable; introspection keeps answering from memory', async () => {
    const s = await startTestServer();
    try {
      const rs2 = await s.createClient('rs', { introspect: true, tokens: false });
      const c = await s.createClient('c', {});
      const token = await accessToken(s, c);
      assert.equal((await introspect(s, rs2, token)).json.active, true); // both clients now cached
      await s.app.store.db.destroy(); // the database goes away under the running server
      const revoked = await revoke(s, c, token);
      assert.equal(revoked.status, 503);
      assert.equal(revoked.json.error, 'temporarily_unavailable');
      assert.ok(revoked.headers.get('retry-after'));
      const feed = await readFeed(s, rs2);
      assert.equal(feed.status, 503);
      assert.equal(feed.json.error, 'temporarily_unavailable');
      const still = await introspect(s, rs2, token);
      assert.equal(still.status, 200);
      assert.equal(still.json.active, true);
    } finally {
      await s.close().catch(() => undefined);
      await s.database.drop().catch(() => undefined);
    }
  });

  it('prunes revocations once no token they concern can be valid', async () => {
    // exp is whole seconds after an iat rounded down, so a 1 s token can be past exp within
    // milliseconds of being issued; 3 s leaves at least 2 s for the steps before the first prune.
    const s = await startTestServer({ tokenTtl: 3, maxTokenTtl: 3, clockSkew: 0 });
    try {
      const c = await s.createClient('p', {});
      const token = await accessToken(s, c);
      assert.equal((await revoke(s, c, token)).status, 200);
      await s.app.clients.setEnabled('p', false);
      assert.equal((await storeRows(s, 'revocations')).length, 2, 'one token row, one client cut-off');
      assert.equal(await s.app.tokenStatus.revocations.prune(), 0, 'nothing is pruned while the token could be valid');
      await sleep(decodePayload(token).exp * 1000 - Date.now() + 1100);
      assert.equal(await s.app.tokenStatus.revocations.prune(), 2);
      assert.equal((await storeRows(s, 'revocations')).length, 0);
    } finally {
      await s.close();
    }
  });
});

describe('GET /oauth2/revocations (the revocation feed)', () => {
  let server: TestServer;
  let rs: Caller;
  let app: Caller;

  before(async () => {
    server = await startTestServer();
    rs = await server.createClient('rs', { introspect: true, tokens: false });
    app = await server.createClient('d1-app', { scopes: ['consumer'] });
  });
  after(() => server?.close());

  it('lists revoked tokens and client cut-offs in order, with a cursor that returns only what came after', async () => {
    const empty = await readFeed(server, rs);
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get('cache-control'), 'no-store');
    assert.deepEqual(empty.json, { revocations: [], next_cursor: '0', has_more: false });

    const t1 = await accessToken(server, app);
    await revoke(server, app, t1);
    const first = await readFeed(server, rs);
    assert.equal(first.json.revocations.length, 1);
    const { jti, exp } = decodePayload(t1);
    assert.deepEqual(first.json.revocations[0], { type: 'token', jti, client_id: 'd1-app', until: exp + server.app.config.clockSkew });
    const cursor = first.json.next_cursor;
    assert.match(cursor, /^\d+$/);
    assert.deepEqual((await readFeed(server, rs, cursor)).json, { revocations: [], next_cursor: cursor, has_more: false });

    const c = await server.createClient('flapping', {});
    await server.app.clients.setEnabled('flapping', false);
    const disabledAt = Math.floor(Date.now() / 1000);
    await server.app.clients.setEnabled('flapping', true);
    const next = await readFeed(server, rs, cursor);
    assert.equal(next.status, 200);
    const [disable, enable] = next.json.revocations;
    assert.equal(next.json.revocations.length, 2);
    assert.deepEqual({ ...disable, until: 0 }, { type: 'client', client_id: 'flapping', issued_before: null, until: 0 }, 'disable: every token');
    assert.equal(enable.type, 'client');
    assert.ok(enable.issued_before > disabledAt, 'enable: tokens issued before it');
    assert.ok(enable.until >= disabledAt + server.app.config.maxTokenTtl);
    assert.ok(Number(next.json.next_cursor) > Number(cursor));
    void c;
  });

  it('a client deleted and re-created gets a fresh cut-off after its "every token" one', async () => {
    await server.createClient('reborn', {});
    await server.app.clients.delete('reborn');
    await server.createClient('reborn', {});
    const items = (await readFeed(server, rs)).json.revocations.filter((r: any) => r.client_id === 'reborn');
    assert.equal(items.length, 2);
    assert.equal(items[0].issued_before, null);
    assert.equal(typeof items[1].issued_before, 'number');
  });

  it('pages large feeds (has_more) and the cursor walks through every item once', async () => {
    const s = await startTestServer();
    try {
      // A small page size makes paging observable without thousands of rows.
      (s.app.tokenStatus.revocations as any).policy.pageSize = 3;
      const rs2 = await s.createClient('rs', { introspect: true, tokens: false });
      const c = await s.createClient('c', {});
      const jtis: string[] = [];
      for (let i = 0; i < 7; i++) {
        const t = await accessToken(s, c);
        jtis.push(decodePayload(t).jti);
        await revoke(s, c, t);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await readFeed(s, rs2, cursor);
        pages++;
        seen.push(...page.json.revocations.map((r: any) => r.jti));
        cursor = page.json.next_cursor;
        if (!page.json.has_more) break;
      }
      assert.deepEqual(seen, jtis);
      assert.equal(pages, 3);
    } finally {
      await s.close();
    }
  });

  it('is for resource servers only, and refuses bad cursors with invalid_request', async () => {
    const noAuth = await readFeed(server, null);
    assert.equal(noAuth.status, 401);
    assert.equal(noAuth.json.error, 'invalid_client');
    const notPermitted = await readFeed(server, app);
    assert.equal(notPermitted.status, 401);
    assert.equal(notPermitted.json.error, 'invalid_client');
    const wrong = await readFeed(server, { clientId: 'rs', clientSecret: 'wrong-wrong-wrong-wrong-wrong-wrong' });
    assert.equal(wrong.status, 401);
    for (const since of ['abc', '-1', '1.5', '9'.repeat(20), ' 1']) {
      const res = await readFeed(server, rs, since);
      assert.equal(res.status, 400, since);
      assert.equal(res.json.error, 'invalid_request', since);
    }
    const repeated = await fetchCall(`${endpoints(server).revocations}?since=1&since=2`, { headers: { authorization: basic(rs) } });
    assert.equal(repeated.status, 400);
    const post = await fetch(endpoints(server).revocations, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
  });
});

function basic(c: Caller): string {
  return 'Basic ' + Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64');
}

async function fetchCall(url: string, init: RequestInit): Promise<Call> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined };
}
