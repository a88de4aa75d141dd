/**
 * The documented connection limits (docs/operations.md, "Limits") read from a running server over
 * raw sockets: headers up to 16 KiB, 1,000 requests per connection, 256 connections per address with
 * the oldest idle one closed first, 768 per process. Long time-outs here (injectable) so that
 * connections held by the test are not closed by them on a slow machine; the limits are the defaults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openSocket, type OpenSocket } from '../helpers/sockets.js';
import { holdsWithin } from '../helpers/wait.js';

const PER_ADDRESS = 256;
const PER_PROCESS = 768;
const health = 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n';

describe('connection limits, the documented defaults', () => {
  let server: TestServer;
  const opened: OpenSocket[] = [];
  before(async () => {
    server = await startTestServer({}, { timeouts: { headersMs: 120_000, requestMs: 120_000, keepAliveMs: 120_000, checkIntervalMs: 1_000 } });
  });
  after(async () => {
    for (const s of opened) s.socket.destroy();
    await server.close();
  });

  async function open(localAddress: string, count: number, first?: string): Promise<OpenSocket[]> {
    const out: OpenSocket[] = [];
    for (let i = 0; i < count; i += 32) {
      const batch = await Promise.all(Array.from({ length: Math.min(32, count - i) }, () => openSocket(server.origin, localAddress)));
      for (const s of batch) {
        s.socket.on('error', () => {});
        if (first !== undefined) s.socket.write(first);
        out.push(s);
      }
    }
    opened.push(...out);
    return out;
  }
  const closeAll = (sockets: OpenSocket[]) => Promise.all(sockets.map((s) => (s.socket.destroy(), s.closed)));

  it('headers up to 16 KiB are read; beyond, 431 in the RFC 6749 shape', async () => {
    const ok = await rawExchange(server.origin, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: ${'a'.repeat(15_000)}\r\n\r\n`, { timeoutMs: 30_000, untilResponses: 1 });
    assert.equal(ok.responses[0]?.status, 200);
    const big = await rawExchange(server.origin, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Pad: ${'a'.repeat(16_500)}\r\n\r\n`, { timeoutMs: 30_000 });
    assert.equal(big.responses[0]?.status, 431);
    assert.equal(JSON.parse(big.responses[0].body).error, 'invalid_request');
  });

  it('1,000 requests per connection: announced, and the last says Connection: close', async () => {
    const { responses } = await rawExchange(server.origin, health.repeat(1_000), { timeoutMs: 60_000, untilResponses: 1_000 });
    assert.equal(responses.length, 1_000);
    assert.equal(responses[0]!.headers['keep-alive'], 'timeout=120, max=1000');
    assert.equal(responses[998]!.headers['connection'], 'keep-alive');
    assert.equal(responses[999]!.headers['connection'], 'close');
  });

  it('256 connections per address: the next from that address is refused while another address is served', async () => {
    const busy = await open('127.0.0.3', PER_ADDRESS, 'GET /healthz HTTP/1.1\r\n');
    const extra = await openSocket(server.origin, '127.0.0.3');
    assert.ok(await holdsWithin(() => extra.isClosed(), 20_000), 'the 257th connection from 127.0.0.3 was closed');
    assert.equal(extra.text(), '');
    const other = await rawExchange(server.origin.replace('localhost', '127.0.0.1'), health, { timeoutMs: 30_000, untilResponses: 1 });
    assert.equal(other.responses[0]?.status, 200);
    assert.ok(busy.every((s) => !s.isClosed()), 'the 256 held connections are still open');
    await closeAll(busy);
  });

  it('at the per-address cap the oldest idle connection is closed first', async () => {
    const idle = await open('127.0.0.4', PER_ADDRESS);
    // Answered one by one, in order: the first is the oldest idle.
    for (const s of idle) {
      s.socket.write(health);
      assert.ok(await holdsWithin(() => s.responses().length === 1, 20_000));
    }
    const next = await openSocket(server.origin, '127.0.0.4');
    opened.push(next);
    next.socket.write(health);
    assert.ok(await holdsWithin(() => next.responses().length === 1, 20_000), 'the new connection is served');
    assert.ok(await holdsWithin(() => idle[0]!.isClosed(), 20_000), 'the oldest idle connection was closed');
    assert.ok(idle.slice(1).every((s) => !s.isClosed()), 'only the oldest');
    await closeAll([...idle, next]);
  });

  it('768 connections per process: the next is refused when none is idle', async () => {
    const busy = [
      ...(await open('127.0.0.5', PER_ADDRESS, 'GET /healthz HTTP/1.1\r\n')),
      ...(await open('127.0.0.6', PER_ADDRESS, 'GET /healthz HTTP/1.1\r\n')),
      ...(await open('127.0.0.7', PER_PROCESS - 2 * PER_ADDRESS, 'GET /healthz HTTP/1.1\r\n')),
    ];
    const extra = await openSocket(server.origin, '127.0.0.8');
    assert.ok(await holdsWithin(() => extra.isClosed(), 20_000), 'the 769th connection was closed');
    assert.equal(extra.text(), '');
    assert.ok(busy.every((s) => !s.isClosed()), 'the 768 held connections are still open');
    await closeAll(busy);
  });
});
