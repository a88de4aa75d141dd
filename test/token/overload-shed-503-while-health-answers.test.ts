/**
 * Load shedding (D1AUTHZ_MAX_IN_FLIGHT): with the bound's worth of token requests in progress (their
 * bodies held back, so they stay in progress as long as the test wants), the next token request is
 * answered at once with 503 temporarily_unavailable and Retry-After in the RFC 6749 shape, while
 * /healthz, /readyz and /metrics still answer; the requests within the bound are then served, and
 * once they are done new requests are admitted again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';
import { openSocket, type OpenSocket } from '../helpers/sockets.js';
import { holdsWithin, sleep } from '../helpers/wait.js';

const MAX_IN_FLIGHT = 4;
const PATH = '/authz/d1/v1/oauth2/token';
const BODY = 'grant_type=client_credentials';

describe('load shedding', () => {
  let server: TestServer;
  let auth: string;
  before(async () => {
    // A long request time-out: the held requests stay in progress however slow the machine is.
    // /metrics on the public listener too (it is on the admin listener by default): it must not be shed either.
    server = await startTestServer({ maxInFlight: MAX_IN_FLIGHT, publicMetrics: true }, { timeouts: { headersMs: 60_000, requestMs: 60_000, keepAliveMs: 65_000, checkIntervalMs: 1_000 } });
    const d1 = await server.createClient('d1');
    auth = basicAuth(d1.clientId, d1.clientSecret);
    // The secret is verified once (the slow hash), so the held requests below are cheap.
    assert.equal((await server.token(d1.clientId, d1.clientSecret)).status, 200);
  });
  after(() => server.close());

  const head = () =>
    `POST ${PATH} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\n\r\n`;

  it('answers 503 at once past the bound, keeps health and metrics answering, serves what it admitted', async () => {
    // A request just answered counts until node reports its response closed, which may come after the
    // client has read it: a held request may then be shed itself. Replace those until the bound is
    // held by requests that got no answer.
    const held: OpenSocket[] = [];
    for (let round = 0; round < 20 && held.length < MAX_IN_FLIGHT; round++) {
      while (held.length < MAX_IN_FLIGHT) {
        const s = await openSocket(server.origin, '127.0.0.1');
        // Headers complete, body not: the request is in progress until the rest is sent.
        s.socket.write(head() + BODY.slice(0, 5));
        held.push(s);
      }
      await sleep(500);
      for (const s of held.filter((h) => h.text() !== '')) {
        s.socket.destroy();
        held.splice(held.indexOf(s), 1);
      }
    }
    assert.equal(held.length, MAX_IN_FLIGHT, 'the bound is held by requests in progress');
    const shed = await server.post(BODY, { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(shed.status, 503, 'the request past the bound was shed');
    assert.deepEqual(shed.json, { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' });
    assert.equal(shed.headers.get('retry-after'), '1');
    assert.equal(shed.headers.get('cache-control'), 'no-store');
    // Still no answer on the held requests: the 503 did not wait for them.
    assert.ok(held.every((s) => s.text() === ''), 'the held requests are still in progress');

    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await fetch(server.origin + path);
      assert.equal(res.status, 200, path);
      await res.text();
    }
    const metrics = await (await fetch(server.origin + '/metrics')).text();
    assert.match(metrics, /^d1authz_requests_in_flight 4$/m);
    assert.match(metrics, /^d1authz_requests_shed_total [1-9]\d*$/m);

    for (const s of held) s.socket.write(BODY.slice(5));
    assert.ok(await holdsWithin(() => held.every((s) => s.responses().length === 1), 20_000), 'every held request answered');
    for (const s of held) {
      assert.equal(s.responses()[0]!.status, 200);
      assert.equal(typeof JSON.parse(s.responses()[0]!.body).access_token, 'string');
      s.socket.destroy();
    }
    // Released: admitted again.
    assert.equal((await server.post(BODY, { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' })).status, 200);
  });
});
