/**
 * A request may carry one Authorization (RFC 6749 §2.3: one authentication method per request), one
 * Content-Type, one Content-Length and exactly one Host (RFC 9112 §3.2). node:http keeps the first
 * of a repeated field and drops the rest; each repetition is refused with 400 invalid_request
 * instead, on the token endpoint (served by node:http directly) and on the Fastify routes alike.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { startServerWithClient, type TestServer } from '../helpers/server.js';

const PATH = '/authz/d1/v1/oauth2/token';
const BODY = 'grant_type=client_credentials';

describe('repeated singleton header fields are refused', () => {
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient()));
  after(() => server.close());

  const tokenRequest = (fields: string) =>
    `POST ${PATH} HTTP/1.1\r\n${fields}Content-Length: ${BODY.length}\r\n\r\n${BODY}`;
  const usual = () => `Host: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\n`;

  async function refused(request: string, description: RegExp): Promise<void> {
    const { responses, closedAfterMs } = await rawExchange(server.origin, request, { timeoutMs: 20_000 });
    const [res] = responses;
    assert.equal(res?.status, 400, JSON.stringify(res));
    const body = JSON.parse(res.body);
    assert.equal(body.error, 'invalid_request');
    assert.match(body.error_description, description);
    assert.ok(!('access_token' in body));
    assert.equal(responses.length, 1);
    assert.notEqual(closedAfterMs, undefined, 'the connection is closed after the refusal');
  }

  it('the usual request gets a token (the control)', async () => {
    const { responses } = await rawExchange(server.origin, tokenRequest(usual()) , { timeoutMs: 20_000, halfClose: true });
    assert.equal(responses[0]?.status, 200);
  });

  it('two Authorization headers, the valid one first', () =>
    refused(tokenRequest(`${usual()}Authorization: Basic ${Buffer.from('other:secret').toString('base64')}\r\n`), /Authorization header is repeated/));

  it('two Authorization headers spelled in different cases', () =>
    refused(tokenRequest(`${usual()}AUTHORIZATION: ${auth}\r\n`), /Authorization header is repeated/));

  it('two Content-Type headers', () => refused(tokenRequest(`${usual()}Content-Type: text/plain\r\n`), /Content-Type header is repeated|malformed/));

  it('two Content-Length headers', () => refused(tokenRequest(`${usual()}Content-Length: ${BODY.length}\r\n`), /Content-Length header is repeated|malformed/));

  it('two Host headers, on the token endpoint', () => refused(tokenRequest(`${usual()}Host: evil.example\r\n`), /Host header is repeated/));

  it('two Host headers, on a Fastify route', () =>
    refused('GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n', /Host header is repeated/));

  it('two Authorization headers on introspection', () =>
    refused(
      `POST /authz/d1/v1/oauth2/introspect HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nAuthorization: ${auth}\r\n` +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\ntoken=x',
      /Authorization header is repeated/,
    ));

  it('an HTTP/1.1 request without Host gets the same RFC-shaped 400', () =>
    refused(`POST ${PATH} HTTP/1.1\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, /Host header is missing/));
});
