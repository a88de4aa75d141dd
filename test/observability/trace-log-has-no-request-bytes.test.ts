/**
 * At D1AUTHZ_LOG_LEVEL=trace, malformed requests carrying credentials (Authorization, client_secret
 * in a body, a token to introspect) leave none of them in any log line, in any encoding: as text,
 * base64, URL-encoded, or as the byte list of a serialised Buffer (node:http's parser errors carry
 * the raw request as `rawPacket`, which pino writes as {"type":"Buffer","data":[...]}).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawExchange } from '../helpers/raw-http.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

const BASE = '/authz/d1/v1';

/** Every Buffer a log line holds, as text. */
function buffersIn(line: string): string {
  let out = '';
  JSON.parse(line, (_k, v) => {
    if (v && v.type === 'Buffer' && Array.isArray(v.data)) out += Buffer.from(v.data).toString('latin1');
    return v;
  });
  return out;
}

describe('trace-level logs hold no request bytes', () => {
  let server: TestServer;
  let secret: string;
  let auth: string;
  before(async () => {
    server = await startTestServer({ logLevel: 'trace' }, { timeouts: { headersMs: 500, requestMs: 800, keepAliveMs: 600, checkIntervalMs: 100 } });
    const d1 = await server.createClient('d1');
    secret = d1.clientSecret;
    auth = basicAuth(d1.clientId, d1.clientSecret);
  });
  after(() => server.close());

  it('sends malformed requests with credentials, then finds none of them in any log line', async () => {
    const b64 = auth.slice('Basic '.length);
    const bodySecret = `client_id=d1&client_secret=${encodeURIComponent(secret)}&grant_type=client_credentials`;
    const form = 'Content-Type: application/x-www-form-urlencoded';
    const token = `${BASE}/oauth2/token`;
    const requests: (string | [string, [number, string][]])[] = [
      `POST ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nBad Header: x\r\n\r\n`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\n${form}\r\nContent-Length: ${bodySecret.length}\r\nContent-Length: ${bodySecret.length}\r\n\r\n${bodySecret}`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n${form}\r\nTransfer-Encoding: chunked\r\n\r\n${bodySecret.length.toString(16)}\r\n${bodySecret}\r\nzz\r\n`,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nAuthorization: ${auth}\r\n${form}\r\nContent-Length: ${bodySecret.length}\r\n\r\n${bodySecret}`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\nHost: y\r\nAuthorization: ${auth}\r\n\r\n`,
      `PUT ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n${form}\r\nContent-Length: ${bodySecret.length}\r\n\r\n${bodySecret}`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${b64}!!\r\n${form}\r\nContent-Length: ${bodySecret.length}\r\n\r\n${bodySecret}`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\n${form}\r\nContent-Length: ${bodySecret.length}\r\n\r\n${bodySecret}`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${bodySecret.length}\r\n\r\n${bodySecret}`,
      `POST ${BASE}/oauth2/introspect HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nContent-Type: application/json\r\nContent-Length: ${secret.length + 12}\r\n\r\n{"token":"${secret}"`,
      `GET ${BASE}/%zz?client_secret=${encodeURIComponent(secret)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n\r\n`,
      `POST ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nExpect: nonsense\r\nContent-Length: 0\r\n\r\n`,
      `POST ${token}?client_secret=${encodeURIComponent(secret)} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n${form}\r\nContent-Length: 40\r\n\r\ngrant_type=client_`,
      [`POST ${token} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n`, [[300, `X-A: ${secret}\r\n`]]],
    ];
    const before = server.logs.length;
    for (const r of requests) {
      const [text, trickle] = typeof r === 'string' ? [r, []] : r;
      const { responses } = await rawExchange(server.origin, text, { trickle, timeoutMs: 20_000 });
      for (const res of responses) assert.ok(res.status < 500, `${res.status} for ${text.slice(0, 60)}`);
    }
    // The refusals are logged (so the check below reads the lines that matter), and at trace level.
    await waitFor('the parser refusal lines', () => server.logs.slice(before).filter((l) => l.includes('refused by the HTTP parser')).length >= 4 || undefined);
    const lines = server.logs.slice(before);
    assert.equal(server.app.http.log.level, 'trace');
    const needles = [secret, encodeURIComponent(secret), b64, Buffer.from(secret).toString('base64')];
    for (const line of lines) {
      const text = line + buffersIn(line);
      for (const needle of needles) assert.ok(!text.includes(needle), `a credential in the log: ${line.slice(0, 300)}`);
      assert.ok(!/"rawPacket":\{/.test(line), `raw request bytes in the log: ${line.slice(0, 300)}`);
    }
  });
});
