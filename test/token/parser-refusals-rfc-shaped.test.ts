/**
 * What node:http refuses before any handler runs (a request its parser cannot read, headers over
 * the limit, an unknown Expect) is answered in the RFC 6749 §5.2 shape like every other error,
 * `{"error":"invalid_request","error_description":...}` with nosniff, then the connection closes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { basicAuth, startServerWithClient, type TestServer } from '../helpers/server.js';

const PATH = '/authz/d1/v1/oauth2/token';

describe('refusals below the app have the RFC 6749 shape', () => {
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient()));
  after(() => server.close());

  const cases: [string, () => string, number][] = [
    ['a header name with a space', () => `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nBad Header: x\r\n\r\n`, 400],
    ['a header value with a control character', () => `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: a\x01b\r\n\r\n`, 400],
    ['an unknown method', () => `FOO ${PATH} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 400],
    ['a bad HTTP version', () => `GET /healthz HTTP/9.x\r\nHost: localhost\r\n\r\n`, 400],
    ['Content-Length and Transfer-Encoding together', () => `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
    ['a bad chunk size', () => `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, 400],
    ['headers over the size limit', () => `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['an Expect other than 100-continue, on the token endpoint', () => `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\nContent-Length: 0\r\n\r\n`, 417],
    ['an Expect other than 100-continue, on a Fastify route', () => `GET /healthz HTTP/1.1\r\nHost: localhost\r\nExpect: teapot\r\n\r\n`, 417],
  ];

  for (const [name, request, status] of cases) {
    it(`${name}: ${status}`, async () => {
      const { responses, closedAfterMs } = await rawExchange(server.origin, request(), { timeoutMs: 20_000 });
      assert.equal(responses.length, 1, JSON.stringify(responses));
      const [res] = responses;
      assert.equal(res!.status, status);
      assert.match(res!.headers['content-type']!, /^application\/json/);
      assert.equal(res!.headers['x-content-type-options'], 'nosniff');
      assert.equal(res!.headers['cache-control'], 'no-store');
      const body = JSON.parse(res!.body);
      assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
      assert.equal(body.error, 'invalid_request');
      assert.notEqual(closedAfterMs, undefined, 'the connection is closed');
    });
  }

  it('Expect: 100-continue still works', async () => {
    const body = 'grant_type=client_credentials';
    const { responses } = await rawExchange(
      server.origin,
      `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
      { trickle: [[100, body]], halfClose: true, timeoutMs: 20_000 },
    );
    assert.deepEqual(responses.map((r) => r.status), [100, 200]);
  });

  it('a malformed request behind one still being answered: the first answer, then the refusal, then the close', async () => {
    const body = 'grant_type=client_credentials';
    // A wrong secret: the first answer waits for a slow hash while the parser meets the second request.
    const first = `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${basicAuth('d1', 'wrong')}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const { responses, closedAfterMs } = await rawExchange(server.origin, `${first}GET /healthz HTTP/1.1\r\nBad Header: x\r\n\r\n`, { timeoutMs: 20_000 });
    assert.notEqual(closedAfterMs, undefined);
    // The first request's own answer first (never a 400 standing in for it), then the malformed one's.
    assert.deepEqual(responses.map((r) => r.status), [401, 400]);
    assert.equal(JSON.parse(responses[1]!.body).error, 'invalid_request');
  });
});
