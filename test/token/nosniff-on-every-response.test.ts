/**
 * `X-Content-Type-Options: nosniff` on every response of the token server: the token listener's
 * (issued, refused, 405), Fastify's routes, its 404, a URL its router cannot decode, and what the
 * HTTP parser refuses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { basicAuth, startServerWithClient, type TestServer } from '../helpers/server.js';

const BASE = '/authz/d1/v1';
const BODY = 'grant_type=client_credentials';

describe('nosniff on every response', () => {
  let server: TestServer;
  let auth: string;
  before(async () => ({ server, auth } = await startServerWithClient()));
  after(() => server.close());

  const token = (authorization: string) =>
    `POST ${BASE}/oauth2/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${authorization}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`;
  const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

  const cases: [string, () => string, number][] = [
    ['a token', () => token(auth), 200],
    ['a wrong secret', () => token(basicAuth('d1', 'wrong')), 401],
    ['GET on the token endpoint', () => get(`${BASE}/oauth2/token`), 405],
    ['the JWKS', () => get(`${BASE}/.well-known/jwks.json`), 200],
    ['the metadata', () => get(`${BASE}/.well-known/oauth-authorization-server`), 200],
    ['/healthz', () => get('/healthz'), 200],
    ['/metrics, which lives on the admin listener', () => get('/metrics'), 404],
    ['an unknown path', () => get('/nothing-here'), 404],
    ['a URL the router cannot decode', () => get(`${BASE}/%zz`), 400],
    ['a request the parser refuses', () => 'GET / HTTP/1.1\r\nBad Header: x\r\n\r\n', 400],
  ];
  for (const [name, request, status] of cases) {
    it(name, async () => {
      const { responses } = await rawExchange(server.origin, request(), { timeoutMs: 20_000 });
      assert.equal(responses[0]?.status, status, responses[0]?.body);
      assert.equal(responses[0].headers['x-content-type-options'], 'nosniff');
    });
  }
});
