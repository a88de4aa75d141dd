/**
 * RFC 9112 §9.6: "A server that sends a "close" connection option MUST initiate closure of the
 * connection ... after it sends the response containing close." The 1,000th answer on a connection
 * says `Connection: close`; node:http then kept the connection open and answered every later request
 * on it 503 (a load generator that does not watch for `close` saw nothing but 503s). Now the server
 * closes the connection after that answer, on the token endpoint and on Fastify's routes alike.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';

const MAX_REQUESTS = 1000;

interface Run {
  readonly statuses: Record<string, number>;
  /** Index (1-based) of the first answer that said `Connection: close`. */
  readonly closeSaidAt: number | undefined;
  /** Answers read when the server ended the connection; undefined: still open. */
  readonly endedAfter: number | undefined;
}

/** Sends `request` again as soon as each answer is read, ignoring `Connection: close`, up to `max` + 5 times. */
function hammer(origin: string, request: string, max: number): Promise<Run> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const statuses: Record<string, number> = {};
    let buf = '';
    let answers = 0;
    let closeSaidAt: number | undefined;
    let done = false;
    const finish = (endedAfter: number | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ statuses, closeSaidAt, endedAfter });
    };
    const timer = setTimeout(() => finish(undefined), 20_000);
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buf.slice(0, headEnd);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < headEnd + 4 + length) return;
        buf = buf.slice(headEnd + 4 + length);
        answers++;
        const status = head.slice(9, 12);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (closeSaidAt === undefined && /\r\nconnection: *close/i.test(head)) closeSaidAt = answers;
        // Past the answer that said close, wait a moment for the server's FIN before writing again.
        if (answers < max + 5) {
          if (closeSaidAt !== undefined) setTimeout(() => !done && socket.writable && socket.write(request), 200);
          else socket.write(request);
        } else finish(undefined);
      }
    });
    socket.on('end', () => finish(answers));
    socket.on('error', () => finish(answers));
    socket.write(request);
  });
}

describe('a connection that reached its request limit', () => {
  let server: TestServer;
  let auth: string;
  before(async () => {
    server = await startTestServer();
    const c = await server.createClient('many');
    auth = basicAuth(c.clientId, c.clientSecret);
  });
  after(() => server?.close());

  for (const [name, request] of [
    ['GET /healthz', () => 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'],
    [
      'token requests',
      () =>
        `POST /authz/d1/v1/oauth2/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\n` +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials',
    ],
  ] as const) {
    it(`${name}: the ${MAX_REQUESTS}th answer says close and the server closes the connection after it`, async () => {
      const run = await hammer(server.origin, request(), MAX_REQUESTS);
      assert.equal(run.closeSaidAt, MAX_REQUESTS, `Connection: close on answer ${run.closeSaidAt}`);
      assert.equal(run.endedAfter, MAX_REQUESTS, `the server ended the connection after ${run.endedAfter ?? 'never (still open)'}`);
      assert.deepEqual(run.statuses, { '200': MAX_REQUESTS }, 'every request answered 200, none 503');
    });
  }
});
