/**
 * 1,000 slow-loris connections from 127.0.0.1 (a request head dribbled one byte a second) do not
 * stop a valid token request from 127.0.0.2: at most D1AUTHZ_MAX_CONNECTIONS_PER_ADDRESS (256) of
 * them are held, the rest are closed at once, and each held one is closed within the headers
 * time-out (a small one here: the time-outs are injectable).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CONNECTION_CAPS } from '../../src/transport/connection-limits.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openSocket, type OpenSocket } from '../helpers/sockets.js';

const LORIS = 1_000;
const HEADERS_MS = 2_000;
// The loaded test machine may run timers late, never early.
const SLACK_MS = 8_000;
const HEAD = 'POST /authz/d1/v1/oauth2/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ';

function tokenFrom(origin: string, localAddress: string, clientId: string, secret: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(origin);
  const body = 'grant_type=client_credentials';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port: Number(port),
        localAddress,
        method: 'POST',
        path: '/authz/d1/v1/oauth2/token',
        agent: false,
        headers: {
          authorization: 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64'),
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(body.length),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('slow-loris connections from one address', () => {
  let server: TestServer;
  let d1: { clientId: string; clientSecret: string };
  before(async () => {
    server = await startTestServer({}, { timeouts: { headersMs: HEADERS_MS, requestMs: 30_000, keepAliveMs: 65_000, checkIntervalMs: 200 } });
    d1 = await server.createClient('d1');
  });
  after(() => server.close());

  it('do not stop a valid request from another address, and are each closed within the time-out', { timeout: 120_000 }, async () => {
    const loris: OpenSocket[] = [];
    const dribbling = new Set<Socket>();
    let offset = 0;
    // One byte a second on every open connection, from one timer.
    const dribble = setInterval(() => {
      const byte = HEAD[offset++ % HEAD.length]!;
      for (const s of dribbling) if (!s.destroyed) s.write(byte);
    }, 1_000);
    try {
      for (let i = 0; i < LORIS; i += 50) {
        const batch = await Promise.all(Array.from({ length: 50 }, () => openSocket(server.origin, '127.0.0.1').catch(() => undefined)));
        for (const s of batch) {
          if (!s) continue;
          s.socket.on('error', () => {});
          s.socket.write(HEAD[0]!);
          dribbling.add(s.socket);
          loris.push(s);
        }
      }
      // Refused at connect (ECONNRESET before 'connect') or closed at once: either way not held.
      assert.ok(loris.length > 0, 'some slow-loris connections were opened');

      const answer = await tokenFrom(server.origin, '127.0.0.2', d1.clientId, d1.clientSecret);
      assert.equal(answer.status, 200, answer.body);
      assert.equal(typeof JSON.parse(answer.body).access_token, 'string');

      const closedAfter = await Promise.race([
        Promise.all(loris.map((s) => s.closed)),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), HEADERS_MS + SLACK_MS + 20_000)),
      ]);
      assert.ok(closedAfter !== undefined, 'every slow-loris connection was closed');
      const late = closedAfter.filter((ms) => ms > HEADERS_MS + SLACK_MS);
      assert.deepEqual(late, [], 'closed within the headers time-out');
      // The held ones were answered 408 when their time ran out; the others got nothing, at once.
      const held = loris.filter((s) => s.text().startsWith('HTTP/1.1 408')).length;
      assert.ok(held > 0 && held <= DEFAULT_CONNECTION_CAPS.maxConnectionsPerAddress, `${held} held at once from one address`);
    } finally {
      clearInterval(dribble);
      for (const s of loris) s.socket.destroy();
    }
  });
});
