/**
 * Certificate-bound tokens over real mutual TLS, with the adapters' default thumbprint source (the
 * TLS connection's peer certificate). Fixtures: self-signed EC certificates in ./fixtures
 * (test-only keys, valid until 2126).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { certificateThumbprint, createGuard } from '@d1-authz/guard';
import { ADAPTERS } from './apps.js';
import type { TestApp } from './apps.js';
import { AUDIENCE, assertGuardFailure, bearer, startJwksServer } from './helpers.js';
import type { HttpAnswer, JwksServer } from './helpers.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const serverTls = { key: fixture('server.key'), cert: fixture('server.crt') };
const client = { key: fixture('client.key'), cert: fixture('client.crt') };
const otherClient = { key: fixture('other-client.key'), cert: fixture('other-client.crt') };

function httpsGet(url: string, headers: Record<string, string>, cert?: { key: string; cert: string }): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, ca: serverTls.cert, ...cert, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('certificateThumbprint is base64url(SHA-256(DER))', () => {
  const x509 = new X509Certificate(client.cert);
  const t = certificateThumbprint(x509);
  // Computed independently: openssl x509 -outform DER | openssl dgst -sha256 -binary | base64url
  assert.equal(t, 'i9Mqmw0aZ7KivoCOBq3JBPwMlJAeKwSpIV60EMbEZOI');
  assert.equal(certificateThumbprint(x509.raw), t);
  assert.notEqual(certificateThumbprint(new X509Certificate(otherClient.cert)), t);
});

for (const adapter of ADAPTERS) {
  describe(`mTLS certificate binding through ${adapter.kind}`, () => {
    let jwks: JwksServer;
    let app: TestApp;
    const thumb = certificateThumbprint(new X509Certificate(client.cert));

    before(async () => {
      jwks = await startJwksServer();
      const guard = createGuard({ issuer: jwks.issuer, audience: AUDIENCE });
      app = await adapter.start(guard, { tls: serverTls });
    });
    after(async () => {
      await app?.close();
      await jwks?.close();
    });

    test('bound token with the right client certificate: 200', async () => {
      const token = await jwks.mint({ claims: { cnf: { 'x5t#S256': thumb } } });
      const res = await httpsGet(`${app.url}/read`, bearer(token), client);
      assert.equal(res.status, 200);
      assert.equal(res.body['clientId'], 'client-123');
    });

    test('bound token with another client certificate, or none: 401 invalid_token', async () => {
      const token = await jwks.mint({ claims: { cnf: { 'x5t#S256': thumb } } });
      assertGuardFailure(await httpsGet(`${app.url}/read`, bearer(token), otherClient), {
        status: 401,
        code: 'invalid_token',
        description: /certificate/,
      });
      assertGuardFailure(await httpsGet(`${app.url}/read`, bearer(token)), {
        status: 401,
        code: 'invalid_token',
        description: /certificate/,
      });
    });

    test('unbound token over TLS without client certificate: 200', async () => {
      const res = await httpsGet(`${app.url}/read`, bearer(await jwks.mint()));
      assert.equal(res.status, 200);
    });
  });
}
