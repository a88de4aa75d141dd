/** GET /metrics on the admin listener: what an operator's Prometheus scrapes, counted from real token requests. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    const have = inside.split(',');
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('metrics', () => {
  let server: TestServer;
  let secret: string;
  const scrape = async () => {
    const res = await fetch(`${server.adminOrigin}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return res.text();
  };

  before(async () => {
    server = await startTestServer();
    ({ clientSecret: secret } = await server.createClient('m1', { scopes: ['a'], defaultScopes: ['a'] }));
  });
  after(() => server.close());

  it('counts token requests by outcome and times them by route and status', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await server.token('m1', secret)).status, 200);
    assert.equal((await server.token('m1', 'wrong-secret-wrong-secret-wrong-secret')).status, 401);
    assert.equal((await server.token('m1', secret, { grant_type: 'client_credentials', scope: 'zzz' })).status, 400);

    const text = await scrape();
    const route = '/authz/d1/v1/oauth2/token';
    assert.equal(sample(text, 'd1authz_token_requests_total', { outcome: 'issued' }), 3);
    assert.equal(sample(text, 'd1authz_token_requests_total', { outcome: 'invalid_client' }), 1);
    assert.equal(sample(text, 'd1authz_token_requests_total', { outcome: 'invalid_scope' }), 1);
    assert.equal(sample(text, 'd1authz_http_request_duration_seconds_count', { route, status: '200' }), 3);
    assert.equal(sample(text, 'd1authz_http_request_duration_seconds_count', { route, status: '401' }), 1);
    assert.equal(sample(text, 'd1authz_http_request_duration_seconds_bucket', { route, status: '200', le: '+Inf' }), 3);
    // Process metrics come with the d1authz_ prefix.
    assert.match(text, /^d1authz_process_cpu_seconds_total \d/m);
  });

  it('never exposes a secret, a token or a client secret hash', async () => {
    const issued = await server.token('m1', secret);
    const text = await scrape();
    assert.ok(!text.includes(secret));
    assert.ok(!text.includes(issued.json.access_token));
    assert.doesNotMatch(text, /scrypt/);
  });

  it('counts later scrapes cumulatively (counters never go back)', async () => {
    const before = sample(await scrape(), 'd1authz_token_requests_total', { outcome: 'issued' })!;
    assert.equal((await server.token('m1', secret)).status, 200);
    assert.equal(sample(await scrape(), 'd1authz_token_requests_total', { outcome: 'issued' }), before + 1);
  });

  it('is off with D1AUTHZ_METRICS=false: 404 in the OAuth error shape', async () => {
    const quiet = await startTestServer({ metrics: false });
    try {
      for (const origin of [quiet.origin, quiet.adminOrigin]) {
        const res = await fetch(`${origin}/metrics`);
        assert.equal(res.status, 404);
        assert.equal(typeof (await res.json()).error, 'string');
      }
    } finally {
      await quiet.close();
    }
  });

  it('stays off the public listener that D1 reaches unless D1AUTHZ_PUBLIC_METRICS=true', async () => {
    const res = await fetch(`${server.origin}/metrics`);
    assert.equal(res.status, 404);
    await res.body?.cancel();
    const open = await startTestServer({ publicMetrics: true });
    try {
      const both = await Promise.all([fetch(`${open.origin}/metrics`), fetch(`${open.adminOrigin}/metrics`)]);
      for (const r of both) {
        assert.equal(r.status, 200);
        assert.match(await r.text(), /d1authz_token_requests_total|d1authz_process_cpu_seconds_total/);
      }
    } finally {
      await open.close();
    }
  });
});
