/** Hostile input, generated: whatever arrives, the answer is a clean RFC 6749 error (or a token), never a 5xx, a stack or a hang. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';

const SECRET = 'f'.repeat(32);
const KNOWN_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_scope', 'unsupported_grant_type', 'unauthorized_client']);

/** Raw HTTP so that headers fetch() would refuse to send still reach the server. */
function rawPost(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('hang')));
    req.on('error', reject);
    req.end(body);
  });
}

const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });

describe('token endpoint under generated hostile input', () => {
  let server: TestServer;
  before(async () => {
    // Lockout off: this pins what the hash queue does under a flood; test/lockout/ pins the lockout.
    server = await startTestServer({ lockout: false });
    await server.createClient('fuzz', { scopes: ['a', 'b'] }, { secret: SECRET });
  });
  after(() => server.close());

  it('answers every request with a known status and an RFC 6749 error body', async () => {
    const authorization = fc.oneof(
      fc.constant(undefined),
      headerValue,
      headerValue.map((s) => 'Basic ' + s),
      fc.string({ maxLength: 60 }).map((s) => 'Basic ' + Buffer.from(s).toString('base64')),
      fc.constant(basicAuth('fuzz', SECRET)),
    );
    const contentType = fc.oneof(
      fc.constant('application/x-www-form-urlencoded'),
      fc.constant('application/x-www-form-urlencoded; charset=utf-8'),
      fc.constant('application/json'),
      fc.constant('multipart/form-data; boundary=x'),
      headerValue,
    );
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
      fc
        .array(fc.tuple(fc.constantFrom('grant_type', 'scope', 'client_id', 'client_secret', 'x', ''), fc.string({ maxLength: 40 })), { maxLength: 6 })
        .map((pairs) => Buffer.from(pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'))),
      fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
    );
    await fc.assert(
      fc.asyncProperty(authorization, contentType, body, async (auth, ct, payload) => {
        const headers: Record<string, string> = { 'content-type': ct };
        if (auth !== undefined) headers.authorization = auth;
        const res = await rawPost(server.tokenUrl, headers, payload);
        assert.ok([200, 400, 401].includes(res.status), `status ${res.status} for ${JSON.stringify({ auth, ct })}`);
        const json = JSON.parse(res.body);
        if (res.status === 200) assert.equal(json.token_type, 'Bearer');
        else {
          assert.ok(KNOWN_ERRORS.has(json.error), json.error);
          assert.doesNotMatch(json.error_description, /Error|\.ts:|\.js:|node_modules/);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('survives a flood of wrong secrets: bounded slow hashes, 503 with Retry-After beyond, never a 5xx otherwise', async () => {
    // 120 wrong secrets at once from one address: more than its share of the hash queue
    // (maxPendingHashes 64, half of it per address), so the queue must refuse some of them.
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) => server.token('fuzz', `wrong-${i}`)),
    );
    for (const r of results) assert.ok(r.status === 401 || r.status === 503, `status ${r.status}`);
    const refused = results.filter((r) => r.status === 503);
    const verified = results.filter((r) => r.status === 401);
    assert.ok(refused.length > 0, `no 503 among ${results.length} wrong secrets sent at once: the hash queue is not bounded`);
    assert.ok(verified.length > 0, 'some of the flood is verified (401), not all refused');
    for (const r of refused) {
      assert.equal(r.json.error, 'temporarily_unavailable');
      assert.ok(Number(r.headers.get('retry-after')) >= 1, `retry-after ${r.headers.get('retry-after')}`);
    }
    // Each 503 is the hash queue's refusal, not another limit (load shedding) answering for it.
    const refusalLines = server.logs.filter((l) => l.includes('"status":503')).map((l) => JSON.parse(l) as { detail?: string });
    assert.equal(refusalLines.length, refused.length);
    for (const line of refusalLines) assert.equal(line.detail, 'too many secret verifications pending from this address');
    // The legitimate client still gets its token right after.
    assert.equal((await server.token('fuzz', SECRET)).status, 200);
  });
});
