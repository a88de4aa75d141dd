/**
 * The token endpoint's POST is served by node:http directly (src/http/token-listener.ts), not by
 * Fastify: what Fastify did for it must still hold. Body limits on chunked and declared bodies,
 * keep-alive and pipelining, query strings, a client that hangs up mid-body, the log line, and a
 * request arriving while the server drains. Raw sockets, so nothing is hidden by an HTTP client.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startServerWithClient, startTestServer, type TestServer } from '../helpers/server.js';
import { parseResponses, type RawResponse } from '../helpers/raw-http.js';
import { waitFor, sleep } from '../helpers/wait.js';

const PATH = '/authz/d1/v1/oauth2/token';
const BODY = 'grant_type=client_credentials';

class RawClient {
  private received = '';
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (this.received += d));
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
  }
  static open(origin: string): Promise<RawClient> {
    const { port } = new URL(origin);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }
  send(text: string): void {
    this.socket.write(text);
  }
  responses(): RawResponse[] {
    return parseResponses(this.received);
  }
  async waitForResponses(n: number): Promise<RawResponse[]> {
    return waitFor(`${n} response(s)`, () => (this.responses().length >= n ? this.responses() : undefined), 5000, 10);
  }
}

const tokenRequest = (authorization: string, body = BODY, extra = '') =>
  `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
  `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('token endpoint over node:http: transport', () => {
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient({ bodyLimit: 1024 })));
  after(() => server.close());

  it('answers two pipelined token requests on one keep-alive connection, in order', async () => {
    const client = await RawClient.open(server.origin);
    client.send(tokenRequest(auth, BODY, 'X-Correlation-Id: first\r\n') + tokenRequest(auth, BODY, 'X-Correlation-Id: second\r\n'));
    const [a, b] = await client.waitForResponses(2);
    assert.equal(a!.status, 200);
    assert.equal(b!.status, 200);
    assert.equal(a!.headers['x-correlation-id'], 'first');
    assert.equal(b!.headers['x-correlation-id'], 'second');
    assert.equal(a!.headers['cache-control'], 'no-store');
    assert.equal(a!.headers['pragma'], 'no-cache');
    assert.match(a!.headers['content-type']!, /^application\/json/);
    assert.ok(JSON.parse(b!.body).access_token);
    assert.notEqual(a!.headers['connection'], 'close');
    client.socket.destroy();
  });

  it('takes a chunked body, split anywhere', async () => {
    const client = await RawClient.open(server.origin);
    client.send(
      `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `5\r\ngrant\r\n`,
    );
    client.send(`18\r\n_type=client_credentials\r\n0\r\n\r\n`);
    const [res] = await client.waitForResponses(1);
    assert.equal(res!.status, 200, res!.body);
    client.socket.destroy();
  });

  it('refuses a chunked body that grows over the limit with 413 and closes the connection', async () => {
    const client = await RawClient.open(server.origin);
    client.send(
      `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    for (let i = 0; i < 3; i++) client.send(`200\r\n${'a'.repeat(512)}\r\n`);
    const [res] = await client.waitForResponses(1);
    assert.equal(res!.status, 413);
    assert.deepEqual(JSON.parse(res!.body), { error: 'invalid_request', error_description: 'the request body is too large' });
    assert.equal(res!.headers['connection'], 'close');
    await client.closed;
  });

  it('refuses a declared Content-Length over the limit at once, without waiting for the body', async () => {
    const client = await RawClient.open(server.origin);
    client.send(`POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n`);
    const [res] = await client.waitForResponses(1);
    assert.equal(res!.status, 413);
    assert.equal(res!.headers['connection'], 'close');
    await client.closed;
  });

  it('serves the token path with a query string the same way', async () => {
    const res = await fetch(`${server.tokenUrl}?ignored=1`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: BODY,
    });
    assert.equal(res.status, 200);
    assert.ok((await res.json()).access_token);
  });

  it('survives a client that hangs up mid-body, and logs no secret', async () => {
    const before = server.logs.length;
    const client = await RawClient.open(server.origin);
    client.send(tokenRequest(auth, BODY).slice(0, -10));
    await sleep(50);
    client.socket.destroy();
    await client.closed;
    const res = await server.token('d1', 'wrong');
    assert.equal(res.status, 401);
    const secret = auth.slice('Basic '.length);
    assert.ok(server.logs.slice(before).every((l) => !l.includes(secret)));
  });

  it('writes one request line with the correlation id, client and outcome, and neither secret nor token', async () => {
    const before = server.logs.length;
    const res = await server.token('d1', Buffer.from(auth.slice(6), 'base64').toString().split(':')[1]!, undefined, { 'x-correlation-id': 'line-check-1' });
    assert.equal(res.status, 200);
    const line = await waitFor('the request line', () =>
      server.logs.slice(before).map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.correlation_id === 'line-check-1'),
    );
    assert.equal(line.method, 'POST');
    assert.equal(line.route, PATH);
    assert.equal(line.status, 200);
    assert.equal(line.client_id, 'd1');
    assert.equal(line.outcome, 'issued');
    assert.equal(typeof line.ms, 'number');
    const text = server.logs.slice(before).join('\n');
    assert.ok(!text.includes(res.json.access_token));
    assert.ok(!text.includes(auth.slice(6)));
  });
});

describe('token endpoint over node:http: draining', () => {
  it('finishes the request in flight and answers one arriving behind it with 503 temporarily_unavailable, then closes', async () => {
    const server = await startTestServer();
    const d1 = await server.createClient('d1');
    const auth = basicAuth(d1.clientId, d1.clientSecret);
    const client = await RawClient.open(server.origin);
    // The first request's body is held back, so the connection is busy when the drain starts.
    const first = tokenRequest(auth);
    client.send(first.slice(0, -5));
    await sleep(50);
    const closing = server.close();
    await sleep(50);
    client.send(first.slice(-5) + tokenRequest(auth));
    const [a, b] = await client.waitForResponses(2);
    assert.equal(a!.status, 200, a!.body);
    assert.ok(JSON.parse(a!.body).access_token);
    assert.equal(b!.status, 503);
    assert.equal(JSON.parse(b!.body).error, 'temporarily_unavailable');
    assert.equal(b!.headers['connection'], 'close');
    assert.ok(b!.headers['retry-after']);
    await client.closed;
    await closing;
  });
});
