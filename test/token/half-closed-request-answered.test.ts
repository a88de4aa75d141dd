/**
 * A client may send its request and half-close the connection (FIN) at once: RFC 9112 §9.6, a
 * half-closed connection does not mean the client lost interest. The answer is written, then the
 * connection is closed (node:http's default dropped the request and closed with 0 bytes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { basicAuth, startServerWithClient, type TestServer } from '../helpers/server.js';

const PATH = '/authz/d1/v1/oauth2/token';
const BODY = 'grant_type=client_credentials';

describe('a request followed by a half-close is answered', () => {
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient()));
  after(() => server.close());

  const request = (authorization: string) =>
    `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;

  it('a token request, then FIN: the token, then the close', async () => {
    const { responses, closedAfterMs } = await rawExchange(server.origin, request(auth), { halfClose: true, timeoutMs: 20_000 });
    assert.equal(responses.length, 1);
    assert.equal(responses[0]!.status, 200, responses[0]!.body);
    assert.ok(JSON.parse(responses[0]!.body).access_token);
    assert.notEqual(closedAfterMs, undefined, 'the server closes once it has answered');
  });

  it('a refused token request (slow hash for a wrong secret), then FIN: the 401, then the close', async () => {
    const { responses, closedAfterMs } = await rawExchange(server.origin, request(basicAuth('d1', 'wrong')), { halfClose: true, timeoutMs: 20_000 });
    assert.equal(responses[0]?.status, 401);
    assert.equal(JSON.parse(responses[0].body).error, 'invalid_client');
    assert.notEqual(closedAfterMs, undefined);
  });

  it('two pipelined token requests, then FIN: both answered in order', async () => {
    const { responses } = await rawExchange(server.origin, request(auth) + request(auth), { halfClose: true, timeoutMs: 20_000 });
    assert.deepEqual(responses.map((r) => r.status), [200, 200]);
  });

  it('a Fastify route, then FIN', async () => {
    const { responses } = await rawExchange(server.origin, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n', { halfClose: true, timeoutMs: 20_000 });
    assert.equal(responses[0]?.status, 200);
  });
});
