/**
 * The admin API through real HTTP on the admin listener: every operation, each role, the 401s, the
 * ETag guard, and every answer checked against the OpenAPI document the server serves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openApiChecker, type OpenApiChecker } from '../helpers/openapi.js';
import { waitFor } from '../helpers/wait.js';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

describe('admin API', () => {
  let server: TestServer;
  let admin: string;
  let viewer: string;
  let doc: OpenApiChecker;

  const call = async (method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.adminOrigin}/admin/v1${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  /** Calls and checks the answer against the OpenAPI document (`pattern` is the documented path). */
  const checked = async (method: string, path: string, pattern: string, options: Parameters<typeof call>[2] = {}) => {
    const a = await call(method, path, options);
    doc.check(pattern, method, a.status, a.body);
    return a;
  };

  before(async () => {
    server = await startTestServer();
    admin = (await server.app.adminTokens.create('ops-admin', 'admin', 'test')).token;
    viewer = (await server.app.adminTokens.create('ops-viewer', 'viewer', 'test')).token;
    const res = await fetch(`${server.adminOrigin}/admin/v1/openapi.json`);
    assert.equal(res.status, 200);
    const openapi = await res.json();
    assert.equal(openapi.openapi, '3.1.0');
    doc = openApiChecker(openapi, 'admin');
  });
  after(() => server.close());

  it('refuses a missing, malformed, unknown or revoked token with 401 and a Bearer challenge', async () => {
    const spare = (await server.app.adminTokens.create('spare', 'admin', 'test')).token;
    assert.equal((await checked('GET', '/whoami', '/whoami', { token: spare })).status, 200);
    await server.app.adminTokens.revoke('spare');
    const forged = admin.slice(0, -4) + (admin.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const token of [undefined, 'nonsense', forged, spare, `${admin}x`]) {
      const a = await checked('GET', '/clients', '/clients', token === undefined ? {} : { token });
      assert.equal(a.status, 401, String(token));
      assert.equal(a.body.error, 'invalid_token');
      assert.match(a.headers.get('www-authenticate') ?? '', /^Bearer realm="d1-authz-admin"/);
    }
  });

  it('serves health and metrics without a token, apart from the public listener', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await fetch(`${server.adminOrigin}${path}`)).status, 200, path);
  });

  it('creates a client, shows its secret once, and the secret gets a token at the token endpoint', async () => {
    const created = await checked('POST', '/clients', '/clients', { token: admin, body: { client_id: 'api-made', scopes: ['consumer', 'otp'], default_scopes: ['consumer'], token_ttl: 600 } });
    assert.equal(created.status, 201);
    assert.equal(created.body.client_id, 'api-made');
    assert.deepEqual(created.body.scopes, ['consumer', 'otp']);
    assert.equal(typeof created.body.client_secret, 'string');
    const token = await server.token('api-made', created.body.client_secret);
    assert.equal(token.status, 200);
    assert.equal(token.json.scope, 'consumer');
    const shown = await checked('GET', '/clients/api-made', '/clients/{id}', { token: viewer });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.client_secret, undefined, 'the secret is never shown again');
    assert.ok(!JSON.stringify(shown.body).includes('scrypt'));
    assert.equal(shown.body.secrets.length, 1);
    assert.equal((await checked('POST', '/clients', '/clients', { token: admin, body: { client_id: 'api-made' } })).status, 409);
    const bad = await checked('POST', '/clients', '/clients', { token: admin, body: { client_id: 'x', scopes: 'consumer' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error_description, /scopes/);
    assert.equal((await checked('POST', '/clients', '/clients', { token: admin, body: { client_id: 'y', bogus: 1 } })).status, 400);
  });

  it('lets a viewer read and refuses it every change with 403', async () => {
    assert.equal((await checked('GET', '/whoami', '/whoami', { token: viewer })).body.role, 'viewer');
    assert.equal((await checked('GET', '/clients', '/clients', { token: viewer })).status, 200);
    assert.equal((await checked('GET', '/keys', '/keys', { token: viewer })).status, 200);
    const attempts: [string, string, string, unknown][] = [
      ['POST', '/clients', '/clients', { client_id: 'by-viewer' }],
      ['PATCH', '/clients/api-made', '/clients/{id}', { name: 'x' }],
      ['DELETE', '/clients/api-made', '/clients/{id}', undefined],
      ['POST', '/clients/api-made/disable', '/clients/{id}/disable', undefined],
      ['POST', '/clients/api-made/enable', '/clients/{id}/enable', undefined],
      ['POST', '/clients/api-made/rotate-secret', '/clients/{id}/rotate-secret', {}],
      ['POST', '/keys/rotate', '/keys/rotate', {}],
      ['PUT', '/log-level', '/log-level', { level: 'debug' }],
    ];
    for (const [method, path, pattern, body] of attempts) {
      const a = await checked(method, path, pattern, { token: viewer, body, headers: { 'if-match': '"v1"' } });
      assert.equal(a.status, 403, `${method} ${path}`);
      assert.equal(a.body.error, 'insufficient_scope');
    }
    assert.equal((await server.app.clients.show('api-made')).name, 'api-made', 'nothing changed');
  });

  it('updates only with the current ETag: a stale one gets 412, none 428', async () => {
    const read = await call('GET', '/clients/api-made', { token: admin });
    const etag = read.headers.get('etag')!;
    assert.match(etag, /^"v\d+"$/);
    assert.equal((await checked('PATCH', '/clients/api-made', '/clients/{id}', { token: admin, body: { name: 'x' } })).status, 428);
    const first = await checked('PATCH', '/clients/api-made', '/clients/{id}', { token: admin, body: { name: 'Operator A' }, headers: { 'if-match': etag } });
    assert.equal(first.status, 200);
    assert.equal(first.body.name, 'Operator A');
    assert.notEqual(first.headers.get('etag'), etag);
    const second = await checked('PATCH', '/clients/api-made', '/clients/{id}', { token: admin, body: { name: 'Operator B' }, headers: { 'if-match': etag } });
    assert.equal(second.status, 412);
    assert.equal((await server.app.clients.show('api-made')).name, 'Operator A', "B did not overwrite A's change");
    const again = await checked('PATCH', '/clients/api-made', '/clients/{id}', { token: admin, body: { token_ttl: null, audience: 'other-api' }, headers: { 'if-match': first.headers.get('etag')! } });
    assert.equal(again.status, 200);
    assert.equal(again.body.audience, 'other-api');
    const invalid = await checked('PATCH', '/clients/api-made', '/clients/{id}', { token: admin, body: { token_ttl: 999_999 }, headers: { 'if-match': again.headers.get('etag')! } });
    assert.equal(invalid.status, 400);
  });

  it('rotates a secret with grace, disables, enables and deletes', async () => {
    const before = await call('GET', '/clients/api-made', { token: admin });
    const rotated = await checked('POST', '/clients/api-made/rotate-secret', '/clients/{id}/rotate-secret', { token: admin, body: { grace_seconds: 120 } });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.secrets.length, 2);
    const graceEnd = Date.parse(rotated.body.old_secrets_expire_at) - Date.now();
    assert.ok(graceEnd > 100_000 && graceEnd <= 120_000, String(graceEnd));
    assert.notEqual(rotated.headers.get('etag'), before.headers.get('etag'), 'a rotation moves the version');
    assert.equal((await server.token('api-made', rotated.body.client_secret)).status, 200);
    const disabled = await checked('POST', '/clients/api-made/disable', '/clients/{id}/disable', { token: admin });
    assert.equal(disabled.body.enabled, false);
    // A change reaches the nodes, this one included, within one sync interval (the change feed).
    await waitFor('the disable to reach the token endpoint', async () => (await server.token('api-made', rotated.body.client_secret)).status === 401, 5000);
    assert.equal((await checked('POST', '/clients/api-made/enable', '/clients/{id}/enable', { token: admin })).body.enabled, true);
    assert.equal((await checked('DELETE', '/clients/api-made', '/clients/{id}', { token: admin })).status, 204);
    assert.equal((await checked('GET', '/clients/api-made', '/clients/{id}', { token: admin })).status, 404);
    assert.equal((await checked('DELETE', '/clients/api-made', '/clients/{id}', { token: admin })).status, 404);
  });

  it('pages and searches the client list', async () => {
    for (const id of ['page-a', 'page-b', 'page-c', 'other-d']) await server.createClient(id);
    const first = await checked('GET', '/clients?q=page&limit=2', '/clients', { token: viewer });
    assert.deepEqual(first.body.items.map((c: any) => c.client_id), ['page-a', 'page-b']);
    assert.equal(first.body.next_cursor, 'page-b');
    const second = await checked('GET', `/clients?q=page&limit=2&cursor=${first.body.next_cursor}`, '/clients', { token: viewer });
    assert.deepEqual(second.body.items.map((c: any) => c.client_id), ['page-c']);
    assert.equal(second.body.next_cursor, null);
    assert.equal((await checked('GET', '/clients?limit=0', '/clients', { token: viewer })).status, 400);
  });

  it('lists and rotates keys, refusing an activation too soon for the other nodes', async () => {
    const before = (await checked('GET', '/keys', '/keys', { token: admin })).body.items.length;
    assert.equal((await checked('POST', '/keys/rotate', '/keys/rotate', { token: admin, body: { activate_in: 0 } })).status, 400);
    const rotated = await checked('POST', '/keys/rotate', '/keys/rotate', { token: admin, body: {} });
    assert.equal(rotated.status, 201);
    const after = (await checked('GET', '/keys', '/keys', { token: admin })).body.items;
    assert.equal(after.length, before + 1);
    assert.ok(after.some((k: any) => k.kid === rotated.body.kid));
  });

  it('changes the log level at run time', async () => {
    assert.equal((await checked('GET', '/log-level', '/log-level', { token: viewer })).body.level, 'info');
    assert.equal((await checked('PUT', '/log-level', '/log-level', { token: admin, body: { level: 'debug' } })).body.level, 'debug');
    assert.equal(server.app.logger.level, 'debug');
    assert.equal((await checked('PUT', '/log-level', '/log-level', { token: admin, body: { level: 'loud' } })).status, 400);
    await call('PUT', '/log-level', { token: admin, body: { level: 'info' } });
  });

  it('reads the audit trail with the admin token as the actor of every change, pages it, and counts per minute', async () => {
    const created = await call('POST', '/clients', { token: admin, body: { client_id: 'audited' } });
    assert.equal(created.status, 201);
    assert.equal((await server.token('audited', created.body.client_secret)).status, 200);
    assert.equal((await server.token('audited', 'wrong-wrong-wrong-wrong-wrong-wrong-wrong')).status, 401);
    const byApi = await checked('GET', '/audit?client=audited&event=client.created', '/audit', { token: viewer });
    assert.equal(byApi.status, 200);
    assert.equal(byApi.body.items.length, 1);
    assert.equal(byApi.body.items[0].actor, 'admin-token:ops-admin');
    assert.ok(!JSON.stringify(byApi.body).includes(created.body.client_secret));
    // Every change made through the API so far names the token, never the OS user.
    const changes = await call('GET', '/audit?limit=1000', { token: viewer });
    const adminChanges = changes.body.items.filter((e: any) => /^(client|key)\./.test(e.type) && e.type !== 'client.authentication_failed' && e.type !== 'client.locked_out' && e.actor?.startsWith('admin-token:'));
    for (const type of ['client.created', 'client.updated', 'client.disabled', 'client.enabled', 'client.deleted', 'client.secret_rotated', 'key.rotated']) {
      assert.ok(adminChanges.some((e: any) => e.type === type), `${type} audited with the token as actor`);
    }
    const first = await checked('GET', '/audit?limit=2', '/audit', { token: viewer });
    assert.equal(first.body.items.length, 2);
    const next = await checked('GET', `/audit?limit=2&cursor=${first.body.next_cursor}`, '/audit', { token: viewer });
    assert.ok(next.body.items.every((e: any) => !first.body.items.some((f: any) => f.id === e.id)), 'pages do not overlap');
    assert.equal((await checked('GET', '/audit?since=yesterday', '/audit', { token: viewer })).status, 400);
    await waitFor('the token events flushed', async () => {
      const stats = await checked('GET', '/stats?minutes=5', '/stats', { token: viewer });
      return stats.body.issued.reduce((a: number, b: number) => a + b, 0) > 0 && stats.body.failures_by_reason.wrong_secret >= 1 && stats.body;
    }, 10_000);
  });

  it('lists and clears lockout counters', async () => {
    const listed = await checked('GET', '/lockouts', '/lockouts', { token: viewer });
    assert.equal(listed.status, 200);
    assert.ok(listed.body.items.some((r: any) => r.client_id === 'audited'), 'the failure above is counted');
    assert.equal((await checked('DELETE', '/lockouts/audited', '/lockouts/{subject}', { token: viewer })).status, 403);
    const cleared = await checked('DELETE', '/lockouts/audited', '/lockouts/{subject}', { token: admin });
    assert.ok(cleared.body.cleared >= 1);
  });

  it('never logs an admin token or a client secret', async () => {
    const created = await call('POST', '/clients', { token: admin, body: { client_id: 'log-check' } });
    for (const line of server.logs) {
      for (const secret of [admin, viewer, created.body.client_secret]) assert.ok(!line.includes(secret), line);
    }
  });
});
