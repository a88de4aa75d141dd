/**
 * The gateway in front of a real node:http backend, with tokens from a real d1-authz: what is
 * forwarded (and how), what is refused without touching the backend, upstream failures.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { GatewayConfigError, loadGatewayConfig, type GatewayConfig } from '../../src/gateway/config.js';
import { createGateway, type Gateway } from '../../src/gateway/gateway.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { accessToken, revoke, type Caller } from '../helpers/token-status.js';
import { chunkAt, MiB, startUpstream, type Upstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/free-port.js';
import { eventually } from '../helpers/wait.js';

const ROUTES = `
routes:
  - method: GET
    path: /consumers/**
    scopes: [consumer]
  - method: [POST, PUT]
    path: /upload
    scopes: [consumer]
  - path: /otp/:id
    scopes: [otp]
  - path: /slow
    scopes: []
  - path: /teapot
    scopes: [consumer]
`;

describe('d1-authz gateway', () => {
  let server: TestServer;
  let upstream: Upstream;
  let app: Caller;
  let dir: string;
  const gateways: Gateway[] = [];
  const logs: string[] = [];

  const logger = () =>
    pino(
      { level: 'info' },
      new Writable({
        write(chunk, _e, cb) {
          logs.push(chunk.toString());
          cb();
        },
      }),
    );

  function config(routes = ROUTES, overrides: Parameters<typeof loadGatewayConfig>[1] = {}, env: NodeJS.ProcessEnv = {}): GatewayConfig {
    const file = join(dir, `routes-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, routes);
    return loadGatewayConfig(file, { upstream: upstream.origin, port: 0, ...overrides }, { issuer: server.issuer, audience: 'd1-issuer-api' }, env);
  }

  async function start(c: GatewayConfig): Promise<{ origin: string; gateway: Gateway }> {
    const gateway = createGateway(c, logger());
    gateways.push(gateway);
    return { origin: await gateway.listen(), gateway };
  }

  let gw: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'd1authz-gw-'));
    server = await startTestServer();
    upstream = await startUpstream();
    app = await server.createClient('d1-app', { scopes: ['consumer', 'otp'], defaultScopes: ['consumer'] });
    gw = (await start(config())).origin;
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await upstream?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards an authorised request: no Authorization upstream, x-d1-client-id and x-correlation-id set, query and body kept', async () => {
    const token = await accessToken(server, app);
    const hits = upstream.seen.length;
    const res = await fetch(`${gw}/consumers/42/cards?page=2&q=a%20b`, {
      headers: {
        authorization: `Bearer ${token}`,
        'x-correlation-id': 'corr-abc_123',
        'x-d1-client-id': 'forged-admin',
        'x-d1-anything': 'forged',
        'x-ssl-client-cert': 'forged-certificate',
        'x-forwarded-client-cert': 'Hash=forged',
        accept: 'application/json',
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-upstream'), 'yes', 'upstream response headers come back');
    assert.equal(res.headers.get('x-correlation-id'), 'corr-abc_123');
    const echo = await res.json();
    assert.equal(upstream.seen.length, hits + 1);
    assert.equal(echo.url, '/consumers/42/cards?page=2&q=a%20b');
    assert.equal(echo.headers.authorization, undefined, 'the bearer token never reaches the upstream');
    assert.equal(echo.headers['x-d1-client-id'], 'd1-app', 'the authenticated client, not the forged one');
    assert.equal(echo.headers['x-d1-anything'], undefined);
    assert.equal(echo.headers['x-ssl-client-cert'], undefined, 'a caller-written certificate header never reaches the upstream');
    assert.equal(echo.headers['x-forwarded-client-cert'], undefined);
    assert.equal(echo.headers['x-correlation-id'], 'corr-abc_123');
    assert.equal(echo.headers.accept, 'application/json');
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');

    const generated = await fetch(`${gw}/consumers/1`, { headers: { authorization: `Bearer ${token}`, 'x-correlation-id': 'bad id with spaces' } });
    const id = generated.headers.get('x-correlation-id')!;
    assert.notEqual(id, 'bad id with spaces', 'an invalid correlation id is replaced');
    assert.equal((await generated.json()).headers['x-correlation-id'], id, 'the upstream gets the same id the caller gets back');

    for (const path of ['/consumers', '/consumers/', '/consumers/a/b/c', '/consumers/%41%42']) {
      const res = await fetch(`${gw}${path}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, `${path} matches /consumers/**`);
      assert.equal((await res.json()).url, path, 'forwarded with its path unchanged');
    }
    const head = await fetch(`${gw}/consumers/1`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
    assert.equal(head.status, 200, 'a GET rule admits HEAD');
    const teapot = await fetch(`${gw}/teapot`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(teapot.status, 418, 'upstream statuses pass through unchanged');
    assert.equal(await teapot.text(), 'short and stout');
  });

  it('refuses without touching the upstream: no token, bad token, missing scope, unlisted route or method, ambiguous path', async () => {
    const consumerOnly = await accessToken(server, app, { grant_type: 'client_credentials', scope: 'consumer' });
    const hits = upstream.seen.length;
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const cases: [string, string, RequestInit, number, string][] = [
      ['no token', '/consumers/1', {}, 401, 'unauthorized'],
      ['garbage token', '/consumers/1', { headers: bearer('abc.def.ghi') }, 401, 'invalid_token'],
      ['Basic credentials', '/consumers/1', { headers: { authorization: 'Basic YTpi' } }, 401, 'unauthorized'],
      ['missing scope', '/otp/7', { method: 'POST', headers: bearer(consumerOnly), body: 'x' }, 403, 'insufficient_scope'],
      ['unlisted path', '/admin/users', { headers: bearer(consumerOnly) }, 404, 'not_found'],
      ['unlisted method', '/consumers/1', { method: 'DELETE', headers: bearer(consumerOnly) }, 404, 'not_found'],
      ['prefix is not a substring', '/consumersX/1', { headers: bearer(consumerOnly) }, 404, 'not_found'],
      ['dot segment', '/consumers/%2e%2e/admin', { headers: bearer(consumerOnly) }, 400, 'invalid_request'],
      ['encoded slash', '/consumers/a%2Fb', { headers: bearer(consumerOnly) }, 400, 'invalid_request'],
      ['empty segment', '/consumers//1', { headers: bearer(consumerOnly) }, 400, 'invalid_request'],
      ['bad percent-encoding', '/consumers/%zz', { headers: bearer(consumerOnly) }, 400, 'invalid_request'],
    ];
    for (const [label, path, init, status, error] of cases) {
      // Sent byte for byte (fetch would normalise the path before sending it).
      const res = await rawRequest(`${gw}${path}`, init);
      assert.equal(res.status, status, label);
      assert.equal(res.headers['cache-control'], 'no-store', label);
      assert.equal(JSON.parse(res.body).error, error, label);
      if (status === 401 || status === 403) assert.match(String(res.headers['www-authenticate'] ?? ''), /^Bearer realm=/, label);
    }
    assert.equal(upstream.seen.length, hits, 'the upstream saw none of them');
    const logText = logs.join('');
    assert.ok(!logText.includes(consumerOnly.split('.')[2]!), 'no token in the gateway log');
    assert.match(logText, /"outcome":"insufficient_scope"/);
  });

  it('a dead upstream is a 502 and a slow one a 504, both clean JSON', async () => {
    const token = await accessToken(server, app);
    const dead = await start(config(ROUTES, { upstream: `http://127.0.0.1:${await freePort()}` }));
    const res = await fetch(`${dead.origin}/consumers/1`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await res.json(), { error: 'bad_gateway', error_description: 'the upstream service is unavailable' });

    const quick = await start(config(ROUTES, { upstreamTimeoutMs: 300 }));
    const t0 = performance.now();
    const slow = await fetch(`${quick.origin}/slow?ms=3000`, { headers: { authorization: `Bearer ${token}` } });
    const ms = performance.now() - t0;
    assert.equal(slow.status, 504);
    assert.deepEqual(await slow.json(), { error: 'gateway_timeout', error_description: 'the upstream service did not answer in time' });
    assert.ok(ms < 2000, `answered after ${ms} ms`);
    assert.match(logs.join(''), /"outcome":"upstream_timeout"/);
  });

  it('streams a request body to the upstream unchanged (20 MiB, chunked)', async () => {
    const token = await accessToken(server, app);
    const chunks = (20 * MiB) / (64 * 1024);
    const hash = createHash('sha256');
    let i = 0;
    const body = Readable.from(
      (function* () {
        for (; i < chunks; i++) {
          const c = chunkAt(i);
          hash.update(c);
          yield c;
        }
      })(),
    );
    const res = await fetch(`${gw}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { bytes: 20 * MiB, sha256: hash.digest('hex') });
  });

  it('a request body with no content type is forwarded as is', async () => {
    const token = await accessToken(server, app);
    const res = await fetch(`${gw}/upload`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: new Uint8Array([1, 2, 3]) });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).bytes, 3);
  });

  it('"unlisted: authenticated" forwards unlisted routes for any valid token, still refusing requests without one', async () => {
    const open = await start(config(`unlisted: authenticated\nroutes: []\n`));
    const hits = upstream.seen.length;
    assert.equal((await fetch(`${open.origin}/anything`)).status, 401);
    const res = await fetch(`${open.origin}/anything`, { headers: { authorization: `Bearer ${await accessToken(server, app)}` } });
    assert.equal(res.status, 200);
    assert.equal(upstream.seen.length, hits + 1);
  });

  it('honours revocations when configured (revocation feed)', async () => {
    const rs = await server.createClient('gateway-rs', { introspect: true, tokens: false });
    const c = config(`${ROUTES}\nrevocation:\n  mode: feed\n  clientId: gateway-rs\n  pollIntervalMs: 100\n`, {}, { D1AUTHZ_GATEWAY_CLIENT_SECRET: rs.clientSecret });
    const g = await start(c);
    const token = await accessToken(server, app);
    const call = () => fetch(`${g.origin}/consumers/1`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await call()).status, 200);
    await revoke(server, app, token);
    await eventually(async () => (await call()).status === 401, 5000);
  });

  it('rejects invalid configuration with a message naming the problem', () => {
    const bad = (routes: string, overrides = {}, env = {}) => () => config(routes, overrides, env);
    assert.throws(bad('routes:\n  - path: /x\n'), (e: Error) => e instanceof GatewayConfigError && /routes\.0\.scopes/.test(e.message));
    assert.throws(bad('routes:\n  - path: x\n    scopes: []\n'), /must start with \//);
    assert.throws(bad('routes:\n  - path: /a/**/b\n    scopes: []\n'), /\*\* must be the last segment/);
    assert.throws(bad('routes:\n  - path: /a\n    scopes: ["bad scope"]\n'), /not a valid scope token/);
    assert.throws(bad('routes: []\nunlisted: allow\n'), /unlisted/);
    assert.throws(bad('routes: []\n', { upstream: 'http://127.0.0.1:1/api' }), /origin/);
    assert.throws(bad('routes: []\nrevocation:\n  mode: feed\n  clientId: x\n'), /D1AUTHZ_GATEWAY_CLIENT_SECRET/);
    assert.throws(bad('routes: []\nsurprise: 1\n'), /surprise|Unrecognized/i);
  });
});

function rawRequest(url: string, init: RequestInit): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  const path = url.slice(u.origin.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, method: init.method ?? 'GET', headers: init.headers as Record<string, string> }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body as string | undefined);
  });
}
