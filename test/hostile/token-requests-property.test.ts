/**
 * Property: whatever a hostile caller sends under the base path (method, path, header sets with
 * duplicates, oversized and non-ASCII values, Authorization variants, bodies, encodings, content
 * types), over a raw socket so nothing is cleaned up on the way, the answer is never a 5xx, never a
 * stack trace or an internal message, and always a well-formed RFC 6749 §5.2 error or a valid token;
 * and the real client keeps getting tokens throughout. At least 5,000 generated requests, seeded:
 * FC_SEED=<seed> replays a run (the seed is printed).
 *
 * The transport's own answers (node:http refusing a request before the server sees it, the method
 * and duplicate-header rules of the token path) are a property of their own, so that a defect there
 * is named as such.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';

const RUNS = 5_000;
const SECRET = 's'.repeat(40);
const CLIENT = 'prop-client';
const BASE = '/authz/d1/v1';
const TOKEN_PATH = `${BASE}/oauth2/token`;
const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() % 2 ** 31;

/** RFC 6749 §5.2 error codes, and temporarily_unavailable (§4.1.2.1) that a token endpoint may also send. */
const RFC6749_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);
/** §5.2: error and error_description are NQSCHAR / NQCHAR: %x20-21 / %x23-5B / %x5D-7E. */
const NQSCHAR = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const KNOWN_METHODS = new Set(['POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND']);
const LEAKS = /\bat [\w.<>]+ \(|node:internal|\/work\/|\.ts:\d+|TypeError|ReferenceError|SyntaxError|Cannot read prop|ECONNREFUSED|kysely|sqlite|postgres/i;

interface RawAnswer {
  readonly status: number;
  readonly headers: Map<string, string[]>;
  readonly body: string;
  readonly raw: string;
}

/** One request on its own connection, bytes exactly as generated; the whole answer, up to the close. */
function rawRequest(port: number, bytes: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 15 s (a hang)')), 15_000);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      // A reset after a complete answer (the server closed a connection it would not read further) is an answer.
      if (chunks.length) resolve(parse(Buffer.concat(chunks).toString('latin1')));
      else reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve(parse(Buffer.concat(chunks).toString('latin1')));
    });
    // Not end(): node:http drops the requests of a connection whose client half-closed (a client gone).
    // Connection: close makes the server close it once it answered.
    socket.write(bytes);
  });
}

function parse(raw: string): RawAnswer {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  let body = split < 0 ? '' : raw.slice(split + 4);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(i + 1).trim()]);
  }
  if (headers.get('transfer-encoding')?.[0] === 'chunked') {
    let out = '';
    for (let rest = body; ; ) {
      const nl = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, nl), 16);
      if (!size) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    body = out;
  }
  return { status, headers, body: Buffer.from(body, 'latin1').toString('utf8'), raw };
}

// ---- generators ------------------------------------------------------------------------------

const ascii = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 120 });
/** Any bytes a header value may carry on the wire (latin1), including non-ASCII and obs-text. */
const wireText = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 120 });
const nonAscii = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });

const method = fc.oneof(
  { weight: 12, arbitrary: fc.constant('POST') },
  { weight: 4, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'post', 'PROPFIND', 'CONNECT-ISH', 'P0ST') },
);

const path = fc.oneof(
  { weight: 12, arbitrary: fc.constant(TOKEN_PATH) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      `${TOKEN_PATH}?grant_type=client_credentials`,
      `${TOKEN_PATH}/`,
      `${TOKEN_PATH}//`,
      `${BASE}/oauth2/TOKEN`,
      `${BASE}/oauth2/token%00`,
      `${BASE}/oauth2/%zz`,
      `${BASE}/oauth2/../oauth2/token`,
      `${BASE}/oauth2/token;jsessionid=1`,
      `${BASE}/`,
      `${BASE}/nothing-here`,
    ),
  },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~%-]{0,40}$/).map((s) => `${BASE}/oauth2/${s}`) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9&=%+._-]{0,200}$/).map((q) => `${TOKEN_PATH}?${q}`) },
);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const authorization = fc.oneof(
  { weight: 10, arbitrary: fc.constant(basicAuth(CLIENT, SECRET)) },
  { weight: 3, arbitrary: fc.constantFrom('Basic', 'Basic ', 'Basic !!!', 'Bearer abc', 'basic ' + b64(`${CLIENT}:${SECRET}`), 'Basic  ' + b64(`${CLIENT}:${SECRET}`), 'Basic ' + b64(`${CLIENT}`), 'Basic ' + b64(':'), 'Basic ' + b64(`${CLIENT}:`), 'Basic ' + b64(`:${SECRET}`)) },
  { weight: 2, arbitrary: ascii.map((s) => `Basic ${s}`) },
  { weight: 2, arbitrary: nonAscii.map((s) => `Basic ${b64(`${s}:${s}`)}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => `Basic ${b64(`${CLIENT}%ZZ:${s}%`)}`) },
  // A wrong secret or an unknown client costs a slow hash each: rare, or the run is all hashing.
  { weight: 1, arbitrary: fc.constantFrom(basicAuth(CLIENT, 'wrong-' + SECRET), basicAuth('no-such-client', SECRET)) },
  { weight: 1, arbitrary: wireText },
);

const contentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/x-www-form-urlencoded;charset=ISO-8859-1',
      'APPLICATION/X-WWW-FORM-URLENCODED',
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded, application/json',
      '',
    ),
  },
  { weight: 1, arbitrary: wireText },
);

const form = fc.oneof(
  { weight: 10, arbitrary: fc.constant('grant_type=client_credentials') },
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      'grant_type=client_credentials&scope=a',
      'grant_type=client_credentials&scope=a%20b',
      'grant_type=client_credentials&scope=nope',
      'grant_type=client_credentials&grant_type=client_credentials',
      'grant_type=password&username=a&password=b',
      'grant_type=client_credentials&client_secret=x',
      `grant_type=client_credentials&client_id=${CLIENT}`,
      'grant_type=client_credentials&client_id=other',
      'grant_type=%',
      'grant_type=client_credentials&scope=%FF%FE',
      '{"grant_type":"client_credentials"}',
      '',
      '&&&=',
    ),
  },
  { weight: 2, arbitrary: fc.array(fc.tuple(ascii, ascii), { maxLength: 8 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')) },
  { weight: 1, arbitrary: nonAscii.map((s) => `grant_type=client_credentials&scope=${s}`) },
  { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 9_000 }).map((n) => 'grant_type=client_credentials&scope=' + 'a'.repeat(n)) },
);

/** How the body travels: a correct Content-Length, a wrong one, none, chunked, or both. */
const framing = fc.constantFrom('length', 'length', 'length', 'chunked', 'none', 'short-length', 'length+chunked');

const extraHeaders = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom('x-correlation-id', 'x-forwarded-for', 'accept', 'accept-encoding', 'content-encoding', 'expect', 'user-agent', 'cookie'), wireText),
    fc.tuple(fc.constantFrom('x-correlation-id', 'content-encoding', 'accept-encoding'), fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x'.repeat(64), 'corr-1')),
    fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,30}$/), ascii),
    // Oversized: around and past the server's header limit.
    fc.tuple(fc.constant('x-padding'), fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'p'.repeat(n))),
  ),
  { maxLength: 6 },
);

/** Which of the main headers appear: once (mostly), never, or twice (same or another value). */
const times = fc.constantFrom(1, 1, 1, 1, 1, 1, 1, 0, 2);

interface Generated {
  readonly method: string;
  readonly path: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  readonly framing: string;
}

const requestArb: fc.Arbitrary<Generated> = fc
  .record({ method, path, authorization, authTimes: times, authOther: authorization, contentType, ctTimes: times, ctOther: contentType, body: form, framing, extra: extraHeaders })
  .map((r) => {
    const headers: [string, string][] = [['Host', '127.0.0.1']];
    const add = (name: string, n: number, value: string, other: string) => {
      if (n >= 1) headers.push([name, value]);
      if (n === 2) headers.push([name, other]);
    };
    add('Authorization', r.authTimes, r.authorization, r.authOther);
    add('Content-Type', r.ctTimes, r.contentType, r.ctOther);
    headers.push(...r.extra);
    return { method: r.method, path: r.path, headers, body: r.body, framing: r.framing };
  });

function encode(g: Generated): Buffer {
  const body = Buffer.from(g.body, 'utf8');
  const lines = [`${g.method} ${g.path} HTTP/1.1`, ...g.headers.map(([n, v]) => `${n}: ${v}`), 'Connection: close'];
  let payload = body;
  if (g.framing === 'length') lines.push(`Content-Length: ${body.length}`);
  if (g.framing === 'short-length') lines.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
  if (g.framing === 'chunked' || g.framing === 'length+chunked') {
    if (g.framing === 'length+chunked') lines.push(`Content-Length: ${body.length}`);
    lines.push('Transfer-Encoding: chunked');
    payload = Buffer.concat([Buffer.from(body.length ? `${body.length.toString(16)}\r\n` : ''), body, Buffer.from(body.length ? '\r\n0\r\n\r\n' : '0\r\n\r\n')]);
  }
  if (g.framing === 'none') payload = Buffer.alloc(0);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]);
}

// ---- what every answer must be ---------------------------------------------------------------

function checkNoLeak(a: RawAnswer): void {
  assert.ok(!LEAKS.test(a.body), `internal detail in the answer: ${a.body.slice(0, 200)}`);
}

async function checkAnswer(a: RawAnswer, g: Generated, keys: JWTVerifyGetKey, issuer: string): Promise<void> {
  assert.ok(Number.isInteger(a.status), `no HTTP answer: ${JSON.stringify(a.raw.slice(0, 120))}`);
  assert.ok(a.status < 500, `${a.status}: ${a.body.slice(0, 200)}`);
  checkNoLeak(a);
  if (a.status === 200) {
    const json = JSON.parse(a.body);
    assert.equal(json.token_type, 'Bearer');
    const { payload } = await jwtVerify(json.access_token, keys, { issuer });
    assert.equal(payload.client_id, CLIENT);
    assert.match(a.headers.get('cache-control')?.[0] ?? '', /no-store/);
    return;
  }
  if (g.method === 'HEAD') return; // a HEAD answer has no body by definition
  // Refused by the HTTP parser before any handler ran (no correlation id): the transport property's case.
  if (!a.headers.has('x-correlation-id')) return;
  assert.match(a.headers.get('content-type')?.[0] ?? '', /^application\/json/, `${a.status} without a JSON body: ${JSON.stringify(a.raw.slice(0, 200))}`);
  const json = JSON.parse(a.body) as Record<string, unknown>;
  assert.equal(typeof json.error, 'string');
  assert.match(json.error as string, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
  if (json.error_description !== undefined) {
    assert.equal(typeof json.error_description, 'string');
    assert.match(json.error_description as string, NQSCHAR);
  }
  if (g.path === TOKEN_PATH && g.method === 'POST') assert.ok(RFC6749_ERRORS.has(json.error as string) || json.error === 'temporarily_unavailable', `token endpoint error ${json.error}`);
}

/**
 * The transport rules of the token path, stated as the product should behave: another method is 405
 * with Allow: POST; a repeated Authorization or Content-Type is 400 invalid_request; a request the
 * HTTP parser refuses still gets an RFC-shaped body.
 */
function checkTransport(a: RawAnswer, g: Generated): string | undefined {
  const count = (name: string) => g.headers.filter(([n]) => n.toLowerCase() === name).length;
  if (!Number.isInteger(a.status)) return g.framing === 'short-length' ? 'no answer at all to a request followed by bytes past its Content-Length' : 'no HTTP answer';
  if (!a.headers.has('x-correlation-id') && g.method !== 'HEAD') {
    let error: unknown;
    try {
      error = (JSON.parse(a.body) as { error?: unknown }).error;
    } catch {
      /* not JSON */
    }
    if (!RFC6749_ERRORS.has(error as string)) return `${a.status} refused by the HTTP parser without an RFC 6749 body`;
  }
  // The method and duplicate rules concern requests the HTTP parser accepts: an oversized or invalid
  // header, a refused Expect, ambiguous framing or a method llhttp does not know is refused before routing.
  const wellFormed =
    g.framing !== 'length+chunked' &&
    g.framing !== 'short-length' &&
    KNOWN_METHODS.has(g.method) &&
    g.headers.reduce((n, [name, v]) => n + name.length + v.length, 0) < 8_000 &&
    g.headers.every(([n, v]) => n.toLowerCase() !== 'expect' && /^[\x20-\x7e]*$/.test(v));
  if (!wellFormed) return undefined;
  if (g.path === TOKEN_PATH && g.method !== 'POST' && a.status !== 405) return `${g.method} on the token path answered ${a.status}, not 405`;
  if (g.path === TOKEN_PATH && g.method === 'POST' && (count('authorization') > 1 || count('content-type') > 1) && a.status !== 400) return `duplicate Authorization/Content-Type answered ${a.status}, not 400`;
  return undefined;
}

describe('hostile token requests (property, fast-check)', () => {
  let server: TestServer;
  let port = 0;
  let keys: JWTVerifyGetKey;
  let validTokens = 0;
  const samples: { request: Generated; answer: RawAnswer }[] = [];

  before(async () => {
    // scrypt at the lowest accepted cost: the few generated wrong secrets each pay one slow hash.
    server = await startTestServer({ scryptCost: 14 });
    await server.createClient(CLIENT, { scopes: ['a', 'b'] }, { secret: SECRET });
    port = Number(new URL(server.origin).port);
    keys = createLocalJWKSet(await (await fetch(server.jwksUrl)).json());
  });
  after(() => server?.close());

  const validClientStillServed = async () => {
    const res = await server.token(CLIENT, SECRET);
    assert.equal(res.status, 200, `the real client was refused: ${JSON.stringify(res.json)}`);
    validTokens++;
  };

  it(`${RUNS} generated requests: never a 5xx or a leak, always an RFC 6749 error or a valid token, and the real client keeps its tokens`, async (t) => {
    t.diagnostic(`fast-check seed ${seed} (FC_SEED=${seed} replays this run)`);
    process.stderr.write(`token-requests-property: fast-check seed ${seed}\n`);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(requestArb, async (g) => {
        const answer = await rawRequest(port, encode(g));
        if (samples.length < 20_000) samples.push({ request: g, answer });
        try {
          await checkAnswer(answer, g, keys, server.issuer);
        } catch (err) {
          process.stderr.write(`token-requests-property: failing answer: ${(err as Error).message}\n  answer: ${JSON.stringify(answer.raw.slice(0, 400))}\n`);
          throw err;
        }
        if (++n % 100 === 0) await validClientStillServed();
      }),
      { numRuns: RUNS, seed, endOnFailure: true, includeErrorInReport: true },
    );
    await validClientStillServed();
    assert.ok(validTokens >= RUNS / 100);
  });

  // Checked over the same generated requests as above, and reported with the count of each failure.
  it('the token path’s transport rules hold: 405 for other methods, 400 for duplicate credentials or content types, an RFC body for parser refusals', (t) => {
    const failures = new Map<string, number>();
    for (const { request, answer } of samples) {
      const failure = checkTransport(answer, request);
      if (failure) failures.set(failure, (failures.get(failure) ?? 0) + 1);
    }
    for (const [failure, count] of failures) t.diagnostic(`${count} x ${failure}`);
    assert.ok(samples.length >= RUNS, 'the generated run above ran');
    assert.deepEqual([...failures].sort((a, b) => b[1] - a[1]), []);
  });
});
