/**
 * Test helpers for the guard: an ES256 key pair, a JWKS served by a real node:http server on
 * 127.0.0.1:0 (counting fetches, able to rotate/swap keys and to fail), and an RFC 9068 minter.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { base64url, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JWK } from 'jose';

export const AUDIENCE = 'https://api.d1.test';

export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

/** A key pair for `alg` (ES256, RS256, PS256 or EdDSA with Ed25519), its public JWK with kid, alg and use. */
export async function makeKey(kid: string = randomUUID(), alg: string = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk };
}

export interface MintOptions {
  /** Merged over the defaults; a value of `undefined` removes the claim. */
  claims?: Record<string, unknown>;
  /** Merged over { alg: 'ES256', typ: 'at+jwt', kid }; `undefined` removes the parameter. */
  header?: Record<string, unknown>;
  /** Sign with this key (default: the server's current signing key). */
  key?: TestKey;
  /** Seconds until exp (default 300). */
  expiresIn?: number;
}

export interface JwksServer {
  /** Base URL, used as the token issuer (so the default jwksUri applies). */
  readonly issuer: string;
  readonly jwksUri: string;
  /** JWKS GETs served so far (including failed ones). */
  readonly fetches: number;
  /** Key new tokens are signed with. */
  readonly signingKey: TestKey;
  /** Publish exactly these keys. */
  publish(keys: TestKey[]): void;
  /** New key: published (with the old ones unless keepOld is false) and used for signing from now on. */
  rotate(options?: { keepOld?: boolean }): Promise<TestKey>;
  /** Make the JWKS endpoint answer this HTTP status (undefined: serve normally). */
  failWith(status: number | undefined): void;
  /** Delay JWKS answers (to keep a fetch in flight). */
  delayMs: number;
  mint(options?: MintOptions): Promise<string>;
  close(): Promise<void>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, ...over };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

export async function startJwksServer(): Promise<JwksServer> {
  let signingKey = await makeKey();
  let published: TestKey[] = [signingKey];
  let fetches = 0;
  let failStatus: number | undefined;
  const state = { delayMs: 0 };

  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    const answer = () => {
      if (failStatus !== undefined) {
        res.writeHead(failStatus, { 'content-type': 'text/plain' }).end('nope');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  return {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    get fetches() {
      return fetches;
    },
    get signingKey() {
      return signingKey;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(v: number) {
      state.delayMs = v;
    },
    publish(keys) {
      published = [...keys];
    },
    async rotate({ keepOld = true } = {}) {
      const next = await makeKey();
      published = keepOld ? [next, ...published] : [next];
      signingKey = next;
      return next;
    },
    failWith(status) {
      failStatus = status;
    },
    async mint(options: MintOptions = {}) {
      const key = options.key ?? signingKey;
      const now = Math.floor(Date.now() / 1000);
      const claims = merge(
        {
          iss: issuer,
          aud: AUDIENCE,
          sub: 'client-123',
          client_id: 'client-123',
          scope: 'd1:read d1:write',
          iat: now,
          exp: now + (options.expiresIn ?? 300),
          jti: randomUUID(),
        },
        options.claims,
      );
      const header = merge({ alg: 'ES256', typ: 'at+jwt', kid: key.kid }, options.header);
      return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An unsecured JWT (`alg: none`), as an attacker would send it. */
export function unsignedToken(claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  return `${enc({ alg: 'none', typ: 'at+jwt', ...header })}.${enc(claims)}.`;
}

/** Default claims for hand-built tokens. */
export function defaultClaims(issuer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return merge({ iss: issuer, aud: AUDIENCE, sub: 'client-123', client_id: 'client-123', scope: 'd1:read d1:write', iat: now, exp: now + 300 }, extra);
}

/**
 * The classic key-confusion attack: an HS256 token whose HMAC secret is the public key's bytes
 * (PEM SPKI, or the JWK JSON), hoping the verifier feeds the public key into HMAC.
 */
export async function hs256WithPublicKey(key: TestKey, claims: Record<string, unknown>, form: 'pem' | 'jwk'): Promise<string> {
  const secret = form === 'pem' ? await exportSPKI(key.publicKey) : JSON.stringify(key.publicJwk);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: key.kid })
    .sign(new TextEncoder().encode(secret));
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  if (text !== '') body = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, headers: res.headers, body };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export interface ExpectedFailure {
  status: 400 | 401 | 403 | 503;
  code: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable' | undefined;
  /** Expected `scope` attribute (insufficient_scope). */
  scope?: string;
  /** Must match error_description. */
  description?: RegExp;
  /** Must appear nowhere in the answer. */
  token?: string;
  realm?: string;
}

/** Checks a guard failure answer: status, challenge, no-store, JSON body, no token echo. */
export function assertGuardFailure(res: HttpAnswer, expected: ExpectedFailure): void {
  assert.equal(res.status, expected.status, `status (body: ${JSON.stringify(res.body)})`);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.body['error'], expected.code ?? 'unauthorized');
  assert.equal(typeof res.body['error_description'], 'string');
  if (expected.description) assert.match(res.body['error_description'] as string, expected.description);
  const www = res.headers.get('www-authenticate');
  if (expected.status === 503) {
    assert.equal(www, null);
  } else {
    assert.ok(www, 'WWW-Authenticate present');
    assert.match(www, new RegExp(`^Bearer realm="${(expected.realm ?? AUDIENCE).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`));
    if (expected.code === undefined) {
      assert.equal(www, `Bearer realm="${expected.realm ?? AUDIENCE}"`, 'no error attributes without credentials');
    } else {
      assert.ok(www.includes(`, error="${expected.code}"`), www);
      assert.ok(www.includes(', error_description="'), www);
    }
    if (expected.scope !== undefined) assert.ok(www.endsWith(`, scope="${expected.scope}"`), www);
    else assert.ok(!www.includes('scope='), www);
  }
  const sig = expected.token ? expected.token.split('.')[2] || expected.token : '';
  if (sig.length >= 16) {
    assert.ok(!JSON.stringify(res.body).includes(sig) && !(www ?? '').includes(sig), 'token echoed back');
  }
}
