/**
 * The gateway terminates TLS and mutual TLS itself, with the same D1AUTHZ_TLS_* settings as serve,
 * and checks certificate-bound tokens (RFC 8705 §3) against the caller's certificate: over real TLS
 * connections, with a real d1-authz issuing the tokens and a real upstream behind the gateway.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { GatewayConfigError, loadGatewayConfig } from '../../src/gateway/config.js';
import { createGateway, type Gateway } from '../../src/gateway/gateway.js';
import { gatewayTransport, type GatewayTransportSettings } from '../../src/gateway/transport.js';
import { runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { basic, createPki, FORM, httpsRequest, jwtPayload, type Ca, type Issued, type Pki } from '../tls/pki.js';

const GRANT = 'grant_type=client_credentials';
const PATH = '/banking/d1/v1/issuers/is_tbank01/consumers/c-1';

describe('gateway over TLS and mutual TLS', () => {
  let pki: Pki;
  let ca: Ca;
  let d1: Issued;
  let other: Issued;
  let foreign: Issued;
  let server: TestServer;
  let jwksMirror: Server;
  let upstream: Upstream;
  let dir: string;
  let routesFile: string;
  let gateway: Gateway;
  let gatewayOrigin: string;
  const logs: string[] = [];

  const settings = (extra: Partial<GatewayTransportSettings> = {}): GatewayTransportSettings => {
    const cert = pki.server(ca, 'gateway');
    return { tlsCert: cert.certPath, tlsKey: cert.keyPath, tlsClientCa: ca.certPath, allowInsecureHttp: false, trustedProxies: [], clientCertHeader: 'x-ssl-client-cert', ...extra };
  };
  const call = (client: Issued | undefined, token: string) =>
    httpsRequest(`${gatewayOrigin}${PATH}`, { ca: ca.cert, client, headers: { authorization: `Bearer ${token}` } });
  const tokenFor = async (client: Issued, headers: Record<string, string>, body = GRANT) => {
    const res = await httpsRequest(server.tokenUrl, { method: 'POST', headers: { ...FORM, ...headers }, body, ca: ca.cert, client });
    assert.equal(res.status, 200);
    return res.json.access_token as string;
  };

  before(async () => {
    pki = createPki();
    ca = pki.ca('clients-ca');
    const otherCa = pki.ca('other-ca');
    d1 = pki.issue(ca, 'd1', { subject: '/C=FR/O=Thales DIS/CN=d1-client', dns: ['d1.thales.example'] });
    other = pki.issue(ca, 'other', { subject: '/C=FR/O=Thales DIS/CN=someone-else', dns: ['other.thales.example'] });
    foreign = pki.issue(otherCa, 'foreign', { subject: '/C=FR/O=Thales DIS/CN=d1-client', dns: ['d1.thales.example'] });
    const serverCert = pki.server(ca);
    server = await startTestServer({ tlsCert: serverCert.certPath, tlsKey: serverCert.keyPath, tlsClientCa: ca.certPath });
    // The guard fetches the JWKS with fetch(), which does not trust the test CA: the same keys over loopback HTTP.
    jwksMirror = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(server.app.keyRing.jwks()));
    await new Promise<void>((r) => jwksMirror.listen(0, '127.0.0.1', r));
    upstream = await startUpstream();
    dir = mkdtempSync(join(tmpdir(), 'd1authz-gw-tls-'));
    routesFile = join(dir, 'routes.yaml');
    writeFileSync(routesFile, 'routes:\n  - method: GET\n    path: /banking/d1/v1/issuers/*/consumers/**\n    scopes: []\n');
    const config = loadGatewayConfig(
      routesFile,
      { upstream: upstream.origin, port: 0, jwksUri: `http://127.0.0.1:${(jwksMirror.address() as AddressInfo).port}/jwks` },
      { issuer: server.issuer, audience: 'd1-issuer-api' },
    );
    const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }));
    gateway = createGateway(config, logger, gatewayTransport(settings(), config.host));
    gatewayOrigin = (await gateway.listen()).replace('http://', 'https://');
  });
  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await new Promise((r) => jwksMirror?.close(r));
    await server?.close();
    pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves https and ends the handshake without a client certificate or with one from another CA', async () => {
    assert.match(gatewayOrigin, /^https:\/\/127\.0\.0\.1:\d+$/);
    const c = await server.createClient('plain', {});
    const token = await tokenFor(d1, { authorization: basic(c.clientId, c.clientSecret) });
    const ok = await call(d1, token);
    assert.equal(ok.status, 200);
    assert.equal(upstream.seen.at(-1)?.headers['x-d1-client-id'], 'plain');
    await assert.rejects(call(undefined, token));
    await assert.rejects(call(foreign, token));
  });

  it('a certificate-bound token passes over its certificate and is refused over another, before the upstream', async () => {
    await server.createClient('bound', { tls: { authMethod: 'tls_client_auth', sanDns: 'd1.thales.example', boundTokens: true } });
    const token = await tokenFor(d1, {}, `${GRANT}&client_id=bound`);
    assert.deepEqual(jwtPayload(token).cnf, { 'x5t#S256': d1.thumbprint });

    const same = await call(d1, token);
    assert.equal(same.status, 200);
    assert.equal(upstream.seen.at(-1)?.headers['x-d1-client-id'], 'bound');

    const seenBefore = upstream.seen.length;
    const refused = await call(other, token);
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers['www-authenticate']), /error="invalid_token"/);
    assert.match(refused.json.error_description, /certificate/);
    assert.equal(upstream.seen.length, seenBefore, 'the upstream never saw the refused request');
  });

  it('plain HTTP on a non-loopback address is refused unless explicitly allowed', async () => {
    const plain = { tlsCert: undefined, tlsKey: undefined, tlsClientCa: undefined, allowInsecureHttp: false, trustedProxies: [], clientCertHeader: 'x-ssl-client-cert' };
    assert.throws(() => gatewayTransport(plain, '0.0.0.0'), (err: unknown) => err instanceof GatewayConfigError && /refusing plain HTTP on 0\.0\.0\.0/.test(err.message));
    assert.equal(gatewayTransport(plain, '127.0.0.1').insecure, false);
    assert.equal(gatewayTransport({ ...plain, allowInsecureHttp: true }, '0.0.0.0').insecure, true);

    // And through the CLI: exit code 2 with the reason, nothing listening.
    const r = await runCli(['gateway', '--upstream', upstream.origin, '--config', routesFile, '--host', '0.0.0.0', '--port', '0'], {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /refusing plain HTTP on 0\.0\.0\.0/);
  });
});
