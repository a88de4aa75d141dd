/**
 * Forensics: every request's log line names the peer address (and the forwarded one only when the peer
 * is a trusted proxy); a failed client authentication is a warn line with the presented client id
 * (length-capped), the reason class and the address; d1authz_client_auth_failures_total counts
 * registered ids by name and every unknown id in one bucket.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';

interface Answer {
  readonly status: number;
  readonly correlationId: string;
}

/** A request from a chosen loopback address (127.0.0.0/8 is all local). */
function send(url: string, localAddress: string, headers: Record<string, string>, body?: string, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, correlationId: String(res.headers['x-correlation-id']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('forensics in the log', () => {
  let server: TestServer;
  let secret = '';
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const lines = () => server.logs.map((l) => JSON.parse(l) as Record<string, any>);
  const requestLine = (correlationId: string) => lines().find((l) => l.msg === 'request' && l.correlation_id === correlationId);
  const token = (from: string, id: string, s: string, extra: Record<string, string> = {}) =>
    send(server.tokenUrl, from, { ...FORM, authorization: basicAuth(id, s), ...extra }, 'grant_type=client_credentials');

  before(async () => {
    server = await startTestServer({ scryptCost: 14, trustedProxies: ['127.0.0.3'] });
    secret = (await server.createClient('known')).clientSecret;
  });
  after(() => server?.close());

  it('the request line of a token request carries the peer address', async () => {
    const a = await token('127.0.0.2', 'known', secret);
    assert.equal(a.status, 200);
    const line = requestLine(a.correlationId);
    assert.equal(line?.address, '127.0.0.2');
    assert.equal(line?.forwarded_for, undefined);
  });

  it('a trusted proxy adds the forwarded address; anyone else’s X-Forwarded-For is ignored', async () => {
    const viaProxy = await token('127.0.0.3', 'known', secret, { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' });
    assert.equal(viaProxy.status, 200);
    assert.equal(requestLine(viaProxy.correlationId)?.address, '127.0.0.3');
    assert.equal(requestLine(viaProxy.correlationId)?.forwarded_for, '203.0.113.7', 'the right-most entry: the one the proxy saw');
    const forged = await token('127.0.0.2', 'known', secret, { 'x-forwarded-for': '203.0.113.7' });
    assert.equal(requestLine(forged.correlationId)?.address, '127.0.0.2');
    assert.equal(requestLine(forged.correlationId)?.forwarded_for, undefined);
  });

  it('the request line of a Fastify-served route carries the peer address too', async () => {
    const a = await send(`${server.origin}/authz/d1/v1/oauth2/introspect`, '127.0.0.2', { ...FORM }, 'token=x');
    assert.equal(a.status, 401);
    assert.equal(requestLine(a.correlationId)?.address, '127.0.0.2');
  });

  it('a failed authentication is a warn line with the capped presented id, the reason class and the address; never the secret', async () => {
    const guess = 'a-wrong-guess-' + 'z'.repeat(30);
    const wrong = await token('127.0.0.2', 'known', guess);
    assert.equal(wrong.status, 401);
    const long = 'u'.repeat(300);
    const unknown = await token('127.0.0.3', long, guess, { 'x-forwarded-for': '203.0.113.8' });
    assert.equal(unknown.status, 401);
    const malformed = await send(server.tokenUrl, '127.0.0.2', { ...FORM, authorization: 'Basic !!!' }, 'grant_type=client_credentials');
    assert.equal(malformed.status, 401);
    const failure = (correlationId: string) => lines().find((l) => l.audit === 'client.authentication_failed' && l.correlation_id === correlationId);

    const w = failure(wrong.correlationId);
    assert.equal(w?.level, 40);
    assert.equal(w?.client_id, 'known');
    assert.equal(w?.details.reason, 'wrong_secret');
    assert.equal(w?.address, '127.0.0.2');
    const u = failure(unknown.correlationId);
    assert.equal(u?.client_id, 'u'.repeat(128) + '…', 'capped at 128 characters');
    assert.equal(u?.details.reason, 'unknown_client');
    assert.equal(u?.address, '203.0.113.8', 'behind a trusted proxy: the forwarded address');
    assert.equal(u?.details.peer_address, '127.0.0.3');
    const m = failure(malformed.correlationId);
    assert.equal(m?.details.reason, 'malformed_credentials');
    assert.equal(m?.client_id, undefined);
    assert.ok(!server.logs.some((l) => l.includes(guess)), 'the presented secret is in no log line');
  });

  it('d1authz_client_auth_failures_total names registered ids, and puts every unknown id in one bucket', async () => {
    for (const id of ['ghost-1', 'ghost-2', 'ghost-3']) assert.equal((await token('127.0.0.2', id, 'nope')).status, 401);
    const text = await (await fetch(`${server.adminOrigin}/metrics`)).text();
    const count = (label: string) => Number(new RegExp(`^d1authz_client_auth_failures_total\\{client_id="${label.replace(/[()]/g, '\\$&')}"\\} (\\d+)`, 'm').exec(text)?.[1]);
    assert.equal(count('known'), 1);
    // ghost-1..3, and from the tests before: the 300-character id, the malformed header, the introspection call without credentials.
    assert.equal(count('(unknown)'), 6);
    assert.ok(!/ghost-|uuuu/.test(text), 'no label for an unregistered id');
  });
});
