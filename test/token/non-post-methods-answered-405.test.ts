/**
 * Every method but POST on {base}/oauth2/token gets 405, `Allow: POST` and an RFC 6749-shaped body,
 * whatever the body and its content type: the method is answered before any body is parsed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PATH = '/authz/d1/v1/oauth2/token';
const BODIES: Record<string, string> = {
  form: 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials',
  json: 'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
  'bad json': 'Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{"a":',
  text: 'Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
  none: '\r\n',
  chunked: 'Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ngrant\r\n0\r\n\r\n',
};

describe('token endpoint: every method but POST is 405', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  for (const method of ['PUT', 'PATCH', 'DELETE', 'GET', 'OPTIONS', 'PROPFIND']) {
    for (const [kind, rest] of Object.entries(BODIES)) {
      it(`${method} with ${kind} body`, async () => {
        const { responses } = await rawExchange(server.origin, `${method} ${PATH} HTTP/1.1\r\nHost: localhost\r\n${rest}`, { timeoutMs: 20_000 });
        const [res] = responses;
        assert.equal(res?.status, 405, JSON.stringify(res));
        assert.equal(res.headers['allow'], 'POST');
        assert.match(res.headers['content-type']!, /^application\/json/);
        assert.deepEqual(JSON.parse(res.body), { error: 'invalid_request', error_description: 'the token endpoint accepts POST only' });
      });
    }
  }

  it('HEAD gets 405 and Allow: POST too', async () => {
    const { text } = await rawExchange(server.origin, `HEAD ${PATH} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`, { timeoutMs: 20_000 });
    assert.match(text, /^HTTP\/1\.1 405 /);
    assert.match(text, /\r\nallow: POST\r\n/i);
  });

  it('a percent-encoded spelling of the path, which Fastify routes, is answered the same way', async () => {
    const { responses } = await rawExchange(server.origin, `PUT /authz/d1/v1/oauth2/%74oken HTTP/1.1\r\nHost: localhost\r\n${BODIES.form}`, { timeoutMs: 20_000 });
    assert.equal(responses[0]?.status, 405);
    assert.equal(responses[0].headers['allow'], 'POST');
    assert.equal(JSON.parse(responses[0].body).error, 'invalid_request');
  });

  it('POST is still served', async () => {
    const d1 = await server.createClient('d1');
    const res = await server.token(d1.clientId, d1.clientSecret);
    assert.equal(res.status, 200);
  });
});
