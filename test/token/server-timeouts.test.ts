/**
 * The documented time-outs (docs/operations.md) are in force on the running server, read over raw
 * sockets: the Keep-Alive header announces the keep-alive time-out, a request whose headers never
 * finish is closed after the headers time-out, a request whose body never finishes is answered 408
 * after the request time-out. Small settings pin the mechanism; the defaults are read once as well.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SERVER_TIMEOUTS } from '../../src/transport/server-timeouts.js';
import { rawExchange } from '../helpers/raw-http.js';
import { startServerWithClient, type TestServer } from '../helpers/server.js';

const PATH = '/authz/d1/v1/oauth2/token';
const BODY = 'grant_type=client_credentials';
// The loaded test machine may run a timer late, never early: upper bounds are generous, lower ones strict.
const SLACK_MS = 3_000;

const headerOnly = (auth: string) => `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\n`;
const slowBody = (auth: string) =>
  `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\n\r\ngrant`;

describe('server time-outs, small settings', () => {
  const timeouts = { headersMs: 600, requestMs: 1_200, keepAliveMs: 3_000, checkIntervalMs: 100 };
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient({}, { timeouts })));
  after(() => server.close());

  it('announces the keep-alive time-out and closes an idle connection after it', async () => {
    const request = `GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    const { responses, closedAfterMs } = await rawExchange(server.origin, request, { timeoutMs: 15_000 });
    assert.equal(responses[0]?.headers['keep-alive'], 'timeout=3, max=1000');
    assert.ok(closedAfterMs !== undefined && closedAfterMs >= timeouts.keepAliveMs - 50, `closed after ${closedAfterMs} ms`);
  });

  it('closes a connection whose headers never finish (slow-loris) after the headers time-out', async () => {
    // A header line every 200 ms: the connection is never idle, the headers never end.
    const trickle = Array.from({ length: 40 }, (_, i) => [200, `X-${i}: y\r\n`] as const);
    const { closedAfterMs, responses } = await rawExchange(server.origin, headerOnly(auth), { trickle, timeoutMs: 15_000 });
    assert.ok(closedAfterMs !== undefined, 'the server closed the connection');
    assert.ok(closedAfterMs >= timeouts.headersMs - 50 && closedAfterMs < timeouts.headersMs + SLACK_MS, `closed after ${closedAfterMs} ms`);
    // Answered 408 in the RFC 6749 shape (or closed bare), never a token.
    for (const r of responses) assert.equal(r.status, 408);
  });

  it('answers a body that never finishes with 408 after the request time-out', async () => {
    const trickle = Array.from({ length: 40 }, () => [200, ''] as const);
    const { closedAfterMs, responses } = await rawExchange(server.origin, slowBody(auth), { trickle, timeoutMs: 15_000 });
    assert.ok(closedAfterMs !== undefined && closedAfterMs >= timeouts.requestMs - 50 && closedAfterMs < timeouts.requestMs + SLACK_MS, `closed after ${closedAfterMs} ms`);
    assert.equal(responses[0]?.status, 408);
    assert.deepEqual(JSON.parse(responses[0].body), { error: 'invalid_request', error_description: 'the request was not received in time' });
  });
});

describe('server time-outs, the documented defaults', () => {
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient()));
  after(() => server.close());

  it('Keep-Alive: timeout=65 on the token endpoint and on Fastify routes', async () => {
    assert.equal(SERVER_TIMEOUTS.keepAliveMs, 65_000);
    const token = await rawExchange(server.origin, `${slowBody(auth)}_type=client_credentials`, { timeoutMs: 20_000, untilResponses: 1 });
    assert.equal(token.responses[0]?.status, 200);
    assert.equal(token.responses[0].headers['keep-alive'], 'timeout=65, max=1000');
    const health = await rawExchange(server.origin, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', { timeoutMs: 20_000, untilResponses: 1 });
    assert.equal(health.responses[0]!.headers['keep-alive'], 'timeout=65, max=1000');
  });

  it('headers time-out 5 s and request time-out 10 s, read from the server (both at once)', async () => {
    assert.deepEqual([SERVER_TIMEOUTS.headersMs, SERVER_TIMEOUTS.requestMs], [5_000, 10_000]);
    const headers = rawExchange(server.origin, headerOnly(auth), { trickle: Array.from({ length: 60 }, (_, i) => [250, `X-${i}: y\r\n`] as const), timeoutMs: 30_000 });
    const body = rawExchange(server.origin, slowBody(auth), { trickle: Array.from({ length: 60 }, () => [250, ''] as const), timeoutMs: 30_000 });
    const [h, b] = await Promise.all([headers, body]);
    assert.ok(h.closedAfterMs !== undefined && h.closedAfterMs >= 5_000 - 50 && h.closedAfterMs < 5_000 + SLACK_MS, `headers: closed after ${h.closedAfterMs} ms`);
    assert.ok(b.closedAfterMs !== undefined && b.closedAfterMs >= 10_000 - 50 && b.closedAfterMs < 10_000 + SLACK_MS, `body: closed after ${b.closedAfterMs} ms`);
    assert.equal(b.responses[0]?.status, 408);
  });
});
