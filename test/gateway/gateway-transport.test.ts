/**
 * The gateway's own server has serve's transport (src/transport): the documented time-outs read
 * back over raw sockets (Keep-Alive: timeout=65, a slow body answered 408), refusals below the app
 * in the RFC 6749 shape, a repeated Host refused, nosniff, and a half-closed request answered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadGatewayConfig } from '../../src/gateway/config.js';
import { createGateway, type Gateway } from '../../src/gateway/gateway.js';
import type { ServerTimeouts } from '../../src/transport/server-timeouts.js';
import { rawExchange } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { accessToken } from '../helpers/token-status.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const ROUTES = 'routes:\n  - path: /open/**\n    scopes: []\n';

describe('gateway transport', () => {
  let server: TestServer;
  let upstream: Upstream;
  let dir: string;
  let bearer: string;
  const gateways: Gateway[] = [];
  const logs: string[] = [];

  async function start(timeouts?: ServerTimeouts): Promise<string> {
    const file = join(dir, `routes-${gateways.length}.yaml`);
    writeFileSync(file, ROUTES);
    const config = loadGatewayConfig(file, { upstream: upstream.origin, port: 0 }, { issuer: server.issuer, audience: 'd1-issuer-api' }, {});
    const logger = pino({ level: 'trace' }, new Writable({ write: (c, _e, cb) => (logs.push(c.toString()), cb()) }));
    const gateway = createGateway(config, logger, {}, timeouts);
    gateways.push(gateway);
    return gateway.listen();
  }

  let small: string;
  let defaults: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'd1authz-gwt-'));
    server = await startTestServer();
    upstream = await startUpstream();
    const app = await server.createClient('gw-app');
    bearer = `Bearer ${await accessToken(server, app)}`;
    small = await start({ headersMs: 600, requestMs: 1_200, keepAliveMs: 3_000, checkIntervalMs: 100 });
    defaults = await start();
  });
  after(async () => {
    for (const g of gateways) await g.close();
    await upstream?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (extra = '') => `GET /open/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${bearer}\r\n${extra}\r\n`;

  it('forwards, with Keep-Alive: timeout=65 and nosniff (defaults)', async () => {
    const { responses } = await rawExchange(defaults, get(), { timeoutMs: 20_000, untilResponses: 1 });
    assert.equal(responses[0]?.status, 200, responses[0]?.body);
    assert.equal(responses[0].headers['keep-alive'], 'timeout=65, max=1000');
    assert.equal(responses[0].headers['x-content-type-options'], 'nosniff');
  });

  it('nosniff on its own refusals too', async () => {
    const { responses } = await rawExchange(defaults, 'GET /open/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', { timeoutMs: 20_000, untilResponses: 1 });
    assert.equal(responses[0]?.status, 401);
    assert.equal(responses[0].headers['x-content-type-options'], 'nosniff');
  });

  it('refuses a repeated Host or Authorization with 400 invalid_request', async () => {
    for (const extra of ['Host: evil.example\r\n', `Authorization: ${bearer}\r\n`]) {
      const { responses } = await rawExchange(defaults, get(extra), { timeoutMs: 20_000, untilResponses: 1 });
      assert.equal(responses[0]?.status, 400);
      assert.equal(JSON.parse(responses[0].body).error, 'invalid_request');
    }
  });

  it('answers what the parser refuses in the RFC 6749 shape', async () => {
    for (const [request, status] of [
      ['GET /open/x HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\n\r\n', 400],
      [`GET /open/x HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['GET /open/x HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\n\r\n', 417],
    ] as const) {
      const { responses } = await rawExchange(defaults, request, { timeoutMs: 20_000, untilResponses: 1 });
      assert.equal(responses[0]?.status, status);
      assert.equal(responses[0].headers['x-content-type-options'], 'nosniff');
      assert.deepEqual(Object.keys(JSON.parse(responses[0].body)).sort(), ['error', 'error_description']);
    }
    assert.ok(logs.every((l) => !l.includes('rawPacket')), 'no raw request bytes in the log');
  });

  it('answers a slow body 408 after the request time-out', async () => {
    const request = `POST /open/x HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${bearer}\r\nContent-Length: 10\r\n\r\nab`;
    const { responses, closedAfterMs } = await rawExchange(small, request, { trickle: Array.from({ length: 40 }, () => [200, ''] as const), timeoutMs: 15_000 });
    assert.ok(closedAfterMs !== undefined && closedAfterMs >= 1_150 && closedAfterMs < 1_200 + 3_000, `closed after ${closedAfterMs} ms`);
    // The upstream may have started answering the streamed request: then a bare close is all that is possible.
    if (responses.length > 0 && responses[0]!.status !== 200) assert.equal(responses[0]!.status, 408);
  });

  it('closes a header-only slow-loris after the headers time-out', async () => {
    const trickle = Array.from({ length: 40 }, (_, i) => [200, `X-${i}: y\r\n`] as const);
    const { closedAfterMs } = await rawExchange(small, 'GET /open/x HTTP/1.1\r\nHost: localhost\r\n', { trickle, timeoutMs: 15_000 });
    assert.ok(closedAfterMs !== undefined && closedAfterMs >= 550 && closedAfterMs < 600 + 3_000, `closed after ${closedAfterMs} ms`);
  });

  it('answers a request followed by a half-close', async () => {
    const { responses } = await rawExchange(defaults, get(), { halfClose: true, timeoutMs: 20_000 });
    assert.equal(responses[0]?.status, 200);
  });
});
