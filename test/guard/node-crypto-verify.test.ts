/**
 * The guard's own JWS/JWK handling (packages/guard/src/jws.ts, jwks.ts, claims.ts), through real HTTP: a
 * JWKS served by the test server, a bare node:http app with withGuard. Tokens come from jose
 * (SignJWT) where jose can produce them, and from a node:crypto signer below where it refuses to
 * (1024-bit RSA, DER ECDSA, non-JSON payloads).
 */
import assert from 'node:assert/strict';
import { constants, KeyObject, sign, webcrypto } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { exportJWK } from 'jose';
import { createGuard } from '@d1-authz/guard';
import type { GuardOptions } from '@d1-authz/guard';
import { startNodeHttpApp } from './apps.js';
import { AUDIENCE, assertGuardFailure, bearer, defaultClaims, httpGet, makeKey, startJwksServer } from './helpers.js';
import type { HttpAnswer, JwksServer, TestKey } from './helpers.js';

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** Compact JWS signed with node:crypto (independent of jose and of the guard's verifier). */
function signCompact(key: TestKey, header: Record<string, unknown>, payload: Record<string, unknown> | string, opts: { der?: boolean } = {}): string {
  const alg = String(header['alg']);
  const input = `${b64(JSON.stringify(header))}.${b64(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  const priv = KeyObject.from(key.privateKey);
  let signature: Buffer;
  if (alg === 'ES256') signature = sign('sha256', Buffer.from(input), { key: priv, dsaEncoding: opts.der ? 'der' : 'ieee-p1363' });
  else if (alg === 'RS256') signature = sign('sha256', Buffer.from(input), priv);
  else if (alg === 'PS256') signature = sign('sha256', Buffer.from(input), { key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  else if (alg === 'EdDSA') signature = sign(null, Buffer.from(input), priv);
  else throw new Error(`no signer for ${alg}`);
  return `${input}.${b64(signature)}`;
}

/** A 1024-bit RSA key (jose refuses to generate one). */
async function weakRsaKey(kid: string): Promise<TestKey> {
  const pair = (await webcrypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  ));
  const publicKey = pair.publicKey;
  return { kid, privateKey: pair.privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** The same key published under another JWK: members replaced, or removed when undefined. */
function withJwk(key: TestKey, over: Record<string, unknown>): TestKey {
  const publicJwk: Record<string, unknown> = { ...key.publicJwk, ...over };
  for (const [k, v] of Object.entries(publicJwk)) if (v === undefined) delete publicJwk[k];
  return { ...key, publicJwk };
}

const header = (key: TestKey, extra: Record<string, unknown> = {}) => ({ alg: key.publicJwk.alg, typ: 'at+jwt', kid: key.kid, ...extra });

describe('guard verification on node:crypto', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function setup(keys: TestKey[], options: Partial<GuardOptions> = {}) {
    const jwks: JwksServer = await startJwksServer();
    cleanups.push(() => jwks.close());
    jwks.publish(keys);
    const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE, ...options });
    const app = await startNodeHttpApp(guard);
    cleanups.push(() => app.close());
    const get = (token: string, path = '/read'): Promise<HttpAnswer> => httpGet(`${app.url}${path}`, bearer(token));
    const claims = (extra: Record<string, unknown> = {}) => defaultClaims(jwks.issuer, extra);
    return { jwks, guard, get, claims };
  }

  const refused = (res: HttpAnswer, description: RegExp, token?: string) =>
    assertGuardFailure(res, { status: 401, code: 'invalid_token', description, ...(token ? { token } : {}) });

  test('ES256, RS256, PS256 and EdDSA tokens verify (jose-signed and node:crypto-signed)', async () => {
    const keys = await Promise.all(['ES256', 'RS256', 'PS256', 'EdDSA'].map((alg) => makeKey(undefined, alg)));
    const { jwks, guard, get, claims } = await setup(keys);
    for (const key of keys) {
      const alg = String(key.publicJwk.alg);
      const viaJose = await jwks.mint({ key, header: { alg } });
      const res = await get(viaJose);
      assert.equal(res.status, 200, `${alg} (jose): ${JSON.stringify(res.body)}`);
      assert.equal(res.body['clientId'], 'client-123');
      assert.equal((await get(signCompact(key, header(key), claims()))).status, 200, `${alg} (node:crypto)`);
    }
    assert.equal(jwks.fetches, 1);
    assert.equal(guard.stats().jwksKeys, 4);
  });

  test('an RSA JWK without "alg" verifies both RS256 and PS256', async () => {
    const rsa = withJwk(await makeKey(undefined, 'RS256'), { alg: undefined });
    const { get, claims } = await setup([rsa]);
    for (const alg of ['RS256', 'PS256']) {
      assert.equal((await get(signCompact(rsa, header(rsa, { alg }), claims()))).status, 200, alg);
    }
  });

  test('key type must fit the alg: an RSA key named by an ES256 header is refused', async () => {
    // Without "alg" in the JWKs, so only kty/crv can rule them out.
    const rsa = withJwk(await makeKey('shared-kid', 'RS256'), { alg: undefined });
    const ec = await makeKey('shared-kid', 'ES256');
    const { jwks, guard, get, claims } = await setup([rsa], { jwksCooldownMs: 60_000 });
    // ES256 header, the RSA key's kid, signed with an EC key the JWKS does not hold.
    const token = signCompact(ec, header(ec), claims());
    refused(await get(token), /^unknown signing key$/, token);
    // Nor an Ed25519 key for ES256, nor an EC key for EdDSA.
    const ed = await makeKey('ed', 'EdDSA');
    jwks.publish([rsa, withJwk(ed, { alg: undefined, kid: 'ec-or-ed' }), withJwk(ec, { alg: undefined, kid: 'ed-or-ec' })]);
    await guard.refreshKeys();
    refused(await get(signCompact(ec, header(ec, { kid: 'ec-or-ed' }), claims())), /^unknown signing key$/);
    refused(await get(signCompact(ed, header(ed, { kid: 'ed-or-ec' }), claims())), /^unknown signing key$/);
  });

  test('a JWK whose "alg" differs from the header alg does not match', async () => {
    const ec = await makeKey('ec', 'ES256');
    const rsa = await makeKey('rsa', 'RS256');
    const { get, claims } = await setup([withJwk(ec, { alg: 'RS256' }), rsa]);
    refused(await get(signCompact(ec, header(ec, { alg: 'ES256' }), claims())), /^unknown signing key$/);
    // An RSA key published for RS256 does not verify PS256, though the signature is genuine.
    refused(await get(signCompact(rsa, header(rsa, { alg: 'PS256' }), claims())), /^unknown signing key$/);
    assert.equal((await get(signCompact(rsa, header(rsa), claims()))).status, 200);
  });

  test('"use" other than sig, key_ops without verify, or private key members: the JWK is not used', async () => {
    const base = await makeKey('k', 'ES256');
    const privateJwk = await exportJWK(base.privateKey);
    const { jwks, guard, get, claims } = await setup([base]);
    const token = signCompact(base, header(base), claims());
    for (const over of [{ use: 'enc' }, { key_ops: ['sign'] }, { key_ops: ['verify', 'verify'] }, { key_ops: 'verify' }, { d: privateJwk.d }, { kid: 7 }]) {
      jwks.publish([withJwk(base, over)]);
      await guard.refreshKeys();
      refused(await get(token), /^unknown signing key$/);
    }
    jwks.publish([withJwk(base, { key_ops: ['verify'], use: 'sig' })]);
    await guard.refreshKeys();
    assert.equal((await get(token)).status, 200);
  });

  test('a 1024-bit RSA key is refused (RFC 7518 §3.3: 2048 bits or larger)', async () => {
    const weak = await weakRsaKey('weak');
    const { get, claims } = await setup([weak]);
    const token = signCompact(weak, header(weak), claims());
    refused(await get(token), /^unknown signing key$/, token);
  });

  test('a signature of the wrong length or encoding is refused', async () => {
    const ec = await makeKey('ec', 'ES256');
    const ed = await makeKey('ed', 'EdDSA');
    const rsa = await makeKey('rsa', 'RS256');
    const { get, claims } = await setup([ec, ed, rsa]);
    const bad = /^(signature verification failed|malformed token)$/;
    for (const key of [ec, ed, rsa]) {
      const valid = signCompact(key, header(key), claims());
      const [h, p, s] = valid.split('.') as [string, string, string];
      const sig = Buffer.from(s, 'base64url');
      for (const wrong of [sig.subarray(0, sig.length - 1), Buffer.concat([sig, Buffer.from([0])]), Buffer.concat([Buffer.alloc(1), sig]), Buffer.alloc(1)]) {
        refused(await get(`${h}.${p}.${b64(wrong)}`), bad);
      }
      refused(await get(`${h}.${p}.`), bad);
      assert.equal((await get(valid)).status, 200);
    }
    // ES256 with a DER signature (what crypto.sign gives by default): genuine, but not JWS.
    const der = signCompact(ec, header(ec), claims(), { der: true });
    refused(await get(der), bad);
  });

  test('no kid: the one key fitting the alg is used; two candidates are ambiguous', async () => {
    const ec1 = await makeKey('ec1', 'ES256');
    const ec2 = await makeKey('ec2', 'ES256');
    const rsa = await makeKey('rsa', 'RS256');
    const { jwks, guard, get, claims } = await setup([ec1, rsa]);
    assert.equal((await get(signCompact(ec1, header(ec1, { kid: undefined }), claims()))).status, 200);
    assert.equal((await get(signCompact(rsa, header(rsa, { kid: undefined }), claims()))).status, 200);

    jwks.publish([ec1, ec2, rsa]);
    await guard.refreshKeys();
    refused(await get(signCompact(ec1, header(ec1, { kid: undefined }), claims())), /^ambiguous signing key$/);
    assert.equal((await get(signCompact(rsa, header(rsa, { kid: undefined }), claims()))).status, 200, 'one RSA key: not ambiguous');
    assert.equal((await get(signCompact(ec2, header(ec2), claims()))).status, 200, 'a kid picks one of them');
  });

  test('two keys with the same kid and alg are ambiguous; the same JWK twice is not', async () => {
    const a = await makeKey('dup', 'ES256');
    const b = await makeKey('dup', 'ES256');
    const { jwks, guard, get, claims } = await setup([a, b]);
    refused(await get(signCompact(a, header(a), claims())), /^ambiguous signing key$/);
    refused(await get(signCompact(a, header(a, { kid: undefined }), claims())), /^ambiguous signing key$/);
    jwks.publish([a, a]);
    await guard.refreshKeys();
    assert.equal((await get(signCompact(a, header(a), claims()))).status, 200);
    assert.equal(guard.stats().jwksKeys, 2);
  });

  test('claims: nbf in the future, aud arrays, the payload a JSON object', async () => {
    const key = await makeKey('k', 'ES256');
    const { get, claims } = await setup([key], { audience: [AUDIENCE, 'https://second.test'] });
    const now = Math.floor(Date.now() / 1000);
    const tok = (extra: Record<string, unknown>) => signCompact(key, header(key), claims(extra));

    refused(await get(tok({ nbf: now + 120 })), /^token not yet valid$/);
    refused(await get(tok({ nbf: String(now) })), /^token not yet valid$/);
    assert.equal((await get(tok({ nbf: now + 10 }))).status, 200, 'nbf within the 30 s tolerance');
    assert.equal((await get(tok({ nbf: now - 10 }))).status, 200);

    assert.equal((await get(tok({ aud: ['https://x.test', AUDIENCE] }))).status, 200);
    assert.equal((await get(tok({ aud: 'https://second.test' }))).status, 200, 'any configured audience');
    assert.equal((await get(tok({ aud: ['https://second.test'] }))).status, 200);
    refused(await get(tok({ aud: ['https://x.test', 'https://y.test'] })), /^token not intended for this audience$/);
    refused(await get(tok({ aud: [] })), /^token not intended for this audience$/);
    refused(await get(tok({ aud: { 0: AUDIENCE } })), /^token not intended for this audience$/);
    refused(await get(tok({ aud: undefined })), /^missing "aud" claim$/);

    refused(await get(tok({ iss: undefined })), /^missing "iss" claim$/);
    refused(await get(tok({ iss: 42 })), /^unexpected token issuer$/);
    refused(await get(tok({ exp: now - 31 })), /^token expired$/);
    refused(await get(tok({ exp: now - 30 })), /^token expired$/); // exp <= now - tolerance
    assert.equal((await get(tok({ exp: now - 28 }))).status, 200);
    refused(await get(tok({ exp: String(now + 300) })), /^invalid "exp" claim$/);
    refused(await get(tok({ iat: null })), /^invalid "iat" claim$/);
    refused(await get(tok({ client_id: undefined })), /^missing "client_id" claim$/);
    refused(await get(tok({ sub: 7 })), /^invalid "sub" claim$/);

    for (const payload of ['[1,2]', '"a string"', 'null', 'not json', '{"iss":']) {
      refused(await get(signCompact(key, header(key), payload)), /^malformed token$/);
    }
  });

  test('malformed JOSE: bad base64url, non-JSON or non-object header, crit, invalid UTF-8, non-string kid', async () => {
    const key = await makeKey('k', 'ES256');
    const { jwks, get, claims } = await setup([key]);
    const valid = signCompact(key, header(key), claims());
    const [h, p, s] = valid.split('.') as [string, string, string];
    const malformed = /^malformed token$/;
    for (const token of [
      `${h}.${p}.${s}=`,
      `${h}.${p}~.${s}`,
      `${h}+.${p}.${s}`,
      `${h}.${p}.${s.slice(0, 10)}/${s.slice(11)}`,
      `${b64('not json')}.${p}.${s}`,
      `${b64('[1]')}.${p}.${s}`,
      `${b64(Buffer.from([0x7b, 0xff, 0x7d]))}.${p}.${s}`,
      `.${p}.${s}`,
      `${h}..${s}`,
    ]) {
      refused(await get(token), malformed, token);
    }
    refused(await get(signCompact(key, header(key, { crit: ['exp'], exp: 1 }), claims())), malformed);
    refused(await get(signCompact(key, header(key, { kid: 42 }), claims())), malformed);
    // A payload that is not UTF-8, correctly signed.
    const input = `${h}.${b64(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))}`;
    const priv = KeyObject.from(key.privateKey);
    refused(await get(`${input}.${b64(sign('sha256', Buffer.from(input), { key: priv, dsaEncoding: 'ieee-p1363' }))}`), malformed);
    assert.equal((await get(valid)).status, 200);
    assert.equal(jwks.fetches, 1, 'none of these fetched the JWKS again');
  });

  test('algorithms option: only the supported algs, and a token outside the allow-list never reaches a key', async () => {
    assert.throws(() => createGuard({ issuer: 'https://as.test', audience: AUDIENCE, algorithms: ['ES384'] }), /not supported/);
    assert.throws(() => createGuard({ issuer: 'https://as.test', audience: AUDIENCE, algorithms: ['Ed25519'] }), /not supported/);
    const rsa = await makeKey('rsa', 'RS256');
    const { jwks, get, claims } = await setup([rsa], { algorithms: ['ES256'] });
    refused(await get(signCompact(rsa, header(rsa), claims())), /^signing algorithm not allowed$/);
    assert.equal(jwks.fetches, 0);
  });
});
