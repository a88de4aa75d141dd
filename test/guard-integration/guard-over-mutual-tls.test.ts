/**
 * The guard's own requests (JWKS, introspection, revocation feed) to a real d1-authz that serves
 * mutual TLS with a private CA: with `tls: { ca, cert, key }` all three work; without the CA, without
 * a client certificate, or with one from another CA the handshake fails and the guard answers 503
 * (fail closed). Bad TLS options stop createGuard / createIntrospectionCheck / createRevocationFeed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createGuard,
  createIntrospectionCheck,
  createRevocationFeed,
  GuardError,
  type GuardOptions,
  type GuardTlsOptions,
} from '@d1-authz/guard';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { type Caller } from '../helpers/token-status.js';
import { basic, createPki, FORM, httpsRequest, type Ca, type Issued, type Pki } from '../tls/pki.js';
import { eventually } from '../helpers/wait.js';

describe('guard ⇄ d1-authz over mutual TLS', () => {
  let pki: Pki;
  let serverCa: Ca;
  let clientCa: Ca;
  let server: TestServer;
  let d1: Issued;
  let rsCert: Issued;
  let foreign: Issued;
  let rs: Caller;
  let app: Caller;
  let tls: GuardTlsOptions;
  const stops: (() => Promise<void>)[] = [];
  const base = () => `${server.issuer}/oauth2`;
  const guardOptions = (extra: Partial<GuardOptions> = {}): GuardOptions => ({ issuer: server.issuer, audience: 'd1-issuer-api', jwksRetryBackoffMs: 0, fetchTimeoutMs: 15_000, ...extra });
  // Generous: a loaded machine can take seconds for a handshake plus the resource server's secret hash.
  const timeoutMs = 15_000;

  /** A token for `app`, fetched over mTLS with D1's certificate. */
  async function accessToken(): Promise<string> {
    const res = await httpsRequest(`${base()}/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(app.clientId, app.clientSecret) },
      body: 'grant_type=client_credentials',
      ca: serverCa.cert,
      client: d1,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.access_token as string;
  }

  async function revoke(token: string): Promise<void> {
    const res = await httpsRequest(`${base()}/revoke`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(app.clientId, app.clientSecret) },
      body: new URLSearchParams({ token }).toString(),
      ca: serverCa.cert,
      client: d1,
    });
    assert.equal(res.status, 200);
  }

  const rejects503 = (p: Promise<unknown>, label: string) =>
    assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof GuardError, `${label}: ${String(err)}`);
      assert.equal(err.status, 503, label);
      return true;
    });

  before(async () => {
    pki = createPki();
    serverCa = pki.ca('server-ca');
    clientCa = pki.ca('client-ca');
    const serverCert = pki.server(serverCa);
    d1 = pki.issue(clientCa, 'd1');
    rsCert = pki.issue(clientCa, 'consumer-api');
    foreign = pki.issue(pki.ca('foreign-ca'), 'consumer-api-foreign');
    server = await startTestServer({ tlsCert: serverCert.certPath, tlsKey: serverCert.keyPath, tlsClientCa: clientCa.certPath, syncIntervalMs: 100 });
    assert.match(server.issuer, /^https:\/\/127\.0\.0\.1:\d+\//);
    rs = await server.createClient('consumer-api', { introspect: true, tokens: false });
    app = await server.createClient('d1-app', { scopes: ['consumer'], defaultScopes: ['consumer'] });
    tls = { ca: serverCa.cert, cert: rsCert.cert, key: rsCert.key };
  });
  after(async () => {
    for (const stop of stops) await stop();
    await server?.close();
    pki?.cleanup();
  });

  it('JWKS over mTLS: a token from the server verifies with tls { ca, cert, key }', async () => {
    const guard = createGuard(guardOptions({ tls }));
    const auth = await guard.verify(`Bearer ${await accessToken()}`, { requiredScopes: ['consumer'] });
    assert.equal(auth.clientId, 'd1-app');
    assert.equal(guard.stats().jwksFetches, 1);
    assert.ok(guard.stats().jwksKeys >= 1);
  });

  it('JWKS without the CA, without a client certificate, or with a certificate of another CA: 503', async () => {
    const token = await accessToken();
    const cases: [string, GuardTlsOptions | undefined][] = [
      ['no tls options (public CAs, no certificate)', undefined],
      ['the CA but no client certificate', { ca: serverCa.cert }],
      ['a client certificate but not the CA', { cert: rsCert.cert, key: rsCert.key }],
      ['a client certificate of another CA', { ca: serverCa.cert, cert: foreign.cert, key: foreign.key }],
    ];
    for (const [label, options] of cases) {
      const guard = createGuard(guardOptions(options ? { tls: options } : {}));
      await rejects503(guard.verify(`Bearer ${token}`), label);
      assert.equal(guard.stats().jwksFetchFailures, 1, label);
    }
  });

  it('introspection over mTLS: active, then revoked; refused handshakes fail closed (503)', async () => {
    const check = createIntrospectionCheck({ introspectionEndpoint: `${base()}/introspect`, ...rs, tls, cacheTtlMs: 0, timeoutMs });
    const guard = createGuard(guardOptions({ tls, isRevoked: check }));
    const token = await accessToken();
    assert.equal((await guard.verify(`Bearer ${token}`)).clientId, 'd1-app');
    await revoke(token);
    await assert.rejects(guard.verify(`Bearer ${token}`), (err: unknown) => err instanceof GuardError && err.status === 401 && err.code === 'invalid_token');
    assert.equal(check.stats().failures, 0);

    const noCert = createGuard(guardOptions({ tls, isRevoked: createIntrospectionCheck({ introspectionEndpoint: `${base()}/introspect`, ...rs, tls: { ca: serverCa.cert }, timeoutMs }) }));
    await rejects503(noCert.verify(`Bearer ${await accessToken()}`), 'introspection without a client certificate');
  });

  it('revocation feed over mTLS: loads, sees a revocation; without a client certificate it does not load', async () => {
    const feed = createRevocationFeed({ url: `${base()}/revocations`, ...rs, tls, pollIntervalMs: 100, fetchTimeoutMs: timeoutMs });
    stops.push(() => feed.stop());
    await feed.start();
    assert.equal(feed.ready, true);
    const guard = createGuard(guardOptions({ tls, isRevoked: feed.isRevoked }));
    const token = await accessToken();
    assert.equal((await guard.verify(`Bearer ${token}`)).clientId, 'd1-app');
    await revoke(token);
    await eventually(async () => {
      try {
        await guard.verify(`Bearer ${token}`);
        return false;
      } catch (err) {
        return err instanceof GuardError && err.status === 401;
      }
    }, 10_000);

    const noCert = createRevocationFeed({ url: `${base()}/revocations`, ...rs, tls: { ca: serverCa.cert }, fetchTimeoutMs: timeoutMs });
    stops.push(() => noCert.stop());
    await assert.rejects(noCert.start());
    assert.equal(noCert.ready, false);
  });

  it('bad TLS options stop creation, naming the problem', () => {
    const jwksUri = `${server.issuer}/.well-known/jwks.json`;
    const bad: [string, Partial<GuardOptions>, RegExp][] = [
      ['cert without key', { tls: { ca: serverCa.cert, cert: rsCert.cert } }, /tls\.cert and tls\.key go together/],
      ['key without cert', { tls: { key: rsCert.key } }, /tls\.cert and tls\.key go together/],
      ['key of another certificate', { tls: { cert: rsCert.cert, key: d1.key } }, /^TypeError: tls: .*(mismatch|key)/i],
      ['a CA that is not PEM', { tls: { ca: 'not a certificate' } }, /tls\.ca holds no PEM certificate/],
      ['a broken PEM certificate', { tls: { ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' } }, /tls\.ca holds a certificate that does not parse/],
      ['a key in place of the certificate', { tls: { cert: rsCert.key, key: rsCert.key } }, /tls\.cert holds no PEM certificate/],
      ['unknown option', { tls: { ca: serverCa.cert, rejectUnauthorized: false } as GuardTlsOptions }, /tls\.rejectUnauthorized is not a known TLS option/],
      ['tls on a plain http URL', { jwksUri: 'http://127.0.0.1:1/jwks.json', tls: { ca: serverCa.cert } }, /tls is set but jwksUri is not an https URL/],
    ];
    for (const [label, extra, message] of bad) {
      assert.throws(() => createGuard(guardOptions({ jwksUri, ...extra })), (err: Error) => {
        assert.match(`${err.name}: ${err.message}`, message, label);
        return true;
      });
    }
    assert.throws(() => createIntrospectionCheck({ introspectionEndpoint: `${base()}/introspect`, ...rs, tls: { cert: rsCert.cert } }), /go together/);
    assert.throws(() => createRevocationFeed({ url: `${base()}/revocations`, ...rs, tls: { key: rsCert.key } }), /go together/);
  });
});
