/**
 * A complete request followed on the same connection by bytes the HTTP parser refuses (garbage after
 * it, or the rest of a body longer than its Content-Length and then FIN) is still answered: its
 * answer first, then the refusal (an RFC 6749-shaped 400), then the close. The connection used to be
 * closed bare, and the valid request before the bad bytes got no answer at all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { startServerWithClient, type TestServer } from '../helpers/server.js';

const PATH = '/authz/d1/v1/oauth2/token';
const BODY = 'grant_type=client_credentials';

describe('a request followed by bytes the parser refuses', () => {
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient({ scryptCost: 14 })));
  after(() => server.close());

  const request = (contentLength: number) =>
    `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${contentLength}\r\n\r\n${BODY}`;

  it('garbage after a token request: the token, then 400 invalid_request, then the close', async () => {
    const { responses, closedAfterMs } = await rawExchange(server.origin, request(BODY.length) + '\x01\x02 not http\r\n\r\n', { timeoutMs: 20_000 });
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 400],
    );
    assert.ok(JSON.parse(responses[0]!.body).access_token, 'the token request is answered');
    assert.equal(JSON.parse(responses[1]!.body).error, 'invalid_request');
    assert.equal(responses[1]!.headers['connection'], 'close');
    assert.notEqual(closedAfterMs, undefined, 'then the connection is closed');
  });

  it('a body longer than its Content-Length, then FIN: the truncated request is answered, then the close', async () => {
    const { responses, closedAfterMs } = await rawExchange(server.origin, request(BODY.length - 3), { halfClose: true, timeoutMs: 20_000 });
    assert.ok(responses.length >= 1, 'an answer at all');
    // "grant_type=client_credenti": not a grant this server knows.
    assert.equal(responses[0]!.status, 400, responses[0]!.body);
    assert.equal(JSON.parse(responses[0]!.body).error, 'unsupported_grant_type');
    assert.notEqual(closedAfterMs, undefined);
  });
});
