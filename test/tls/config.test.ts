/**
 * TLS settings: plain HTTP refused off loopback (config and `serve`), TLS file checks, trusted
 * proxies, and the client create/update options of RFC 8705 through the real CLI.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { tlsServerOptions, warnIfInsecureHttp } from '../../src/tls/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliExit } from '../helpers/cli-exit.js';
import { cliEnv, migratedCliDatabase, runCli } from '../helpers/process.js';
import { createPki, type Pki } from './pki.js';

const load = (flags: Record<string, unknown>, env: Record<string, string> = {}) => loadConfig(flags, env, undefined);

describe('plain HTTP off loopback', () => {
  it('is refused with a message naming the settings', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'authz.example.com', '::ffff:10.0.0.1']) {
      assert.throws(
        () => load({ host }),
        (err: Error) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, /D1AUTHZ_HOST \(host\): plain HTTP is refused on the non-loopback address/);
          assert.match(err.message, /D1AUTHZ_ALLOW_INSECURE_HTTP=true/);
          assert.match(err.message, /D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY/);
          return true;
        },
        host,
      );
    }
  });

  it('is fine on loopback, with TLS, or with D1AUTHZ_ALLOW_INSECURE_HTTP=true (and then warned about loudly)', () => {
    for (const host of ['127.0.0.1', '127.9.8.7', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.equal(load({ host }).host, host);
    assert.equal(load({ host: '0.0.0.0', tlsCert: '/c.pem', tlsKey: '/k.pem' }).issuer, 'https://0.0.0.0:8080/authz/d1/v1');
    const insecure = load({}, { D1AUTHZ_HOST: '0.0.0.0', D1AUTHZ_ALLOW_INSECURE_HTTP: 'true' });
    assert.equal(insecure.allowInsecureHttp, true);
    const warnings: { obj: any; msg: string }[] = [];
    assert.equal(warnIfInsecureHttp(insecure, { warn: (obj, msg) => warnings.push({ obj, msg }) }), true);
    assert.match(warnings[0]!.msg, /^INSECURE: serving plain HTTP on 0\.0\.0\.0/);
    assert.equal(warnings[0]!.obj.setting, 'D1AUTHZ_ALLOW_INSECURE_HTTP');
    assert.equal(warnIfInsecureHttp(load({}), { warn: () => assert.fail('no warning on loopback') }), false);
  });

  it('`serve` on 0.0.0.0 without TLS exits at start with the message (it never listens)', async () => {
    const db = await createTestDatabase();
    try {
      const env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_HOST: '0.0.0.0', D1AUTHZ_PORT: '1' });
      // Bounded (a process that listens fails at once), but generous: a CLI start took over 20 s on a loaded machine.
      const result = await cliExit(['serve'], env);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /plain HTTP is refused on the non-loopback address 0\.0\.0\.0/);
      assert.match(result.stderr, /D1AUTHZ_ALLOW_INSECURE_HTTP/);
    } finally {
      await db.drop();
    }
  });
});

describe('TLS settings', () => {
  let pki: Pki;
  before(() => (pki = createPki()));
  after(() => pki?.cleanup());

  it('cert and key go together; a client CA needs them', () => {
    assert.throws(() => load({ tlsCert: '/c.pem' }), /D1AUTHZ_TLS_KEY \(tlsKey\): D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY go together/);
    assert.throws(() => load({ tlsKey: '/k.pem' }), /D1AUTHZ_TLS_CERT \(tlsCert\)/);
    assert.throws(() => load({ tlsClientCa: '/ca.pem' }), /D1AUTHZ_TLS_CLIENT_CA \(tlsClientCa\): needs D1AUTHZ_TLS_CERT/);
  });

  it('trusted proxies: a CIDR list from the environment; anything else is refused', () => {
    assert.deepEqual(load({}, { D1AUTHZ_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1 fd00::/8' }).trustedProxies, ['10.0.0.0/8', '192.168.1.1', 'fd00::/8']);
    assert.deepEqual(load({}).trustedProxies, []);
    for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.0/8/1', '::1/129']) {
      assert.throws(() => load({}, { D1AUTHZ_TRUSTED_PROXIES: bad }), /D1AUTHZ_TRUSTED_PROXIES \(trustedProxies\): must be addresses or CIDRs/, bad);
    }
    assert.equal(load({}, { D1AUTHZ_CLIENT_CERT_HEADER: 'X-Client-Cert' }).clientCertHeader, 'x-client-cert');
    assert.throws(() => load({}, { D1AUTHZ_CLIENT_CERT_HEADER: 'bad header' }), /D1AUTHZ_CLIENT_CERT_HEADER/);
  });

  it('files are checked at start: unreadable, not PEM, key not matching', () => {
    const ca = pki.ca('cfg-ca');
    const a = pki.server(ca, 'cfg-a');
    const b = pki.server(ca, 'cfg-b');
    const opts = tlsServerOptions({ tlsCert: a.certPath, tlsKey: a.keyPath, tlsClientCa: ca.certPath });
    assert.equal(opts.minVersion, 'TLSv1.2');
    assert.equal(opts.requestCert, true);
    assert.equal(opts.rejectUnauthorized, true);
    assert.equal(tlsServerOptions({ tlsCert: a.certPath, tlsKey: a.keyPath, tlsClientCa: undefined }).requestCert, undefined);

    const fails = (cfg: { tlsCert: string; tlsKey: string; tlsClientCa?: string }, pattern: RegExp) =>
      assert.throws(() => tlsServerOptions({ tlsClientCa: undefined, ...cfg }), (err: Error) => err instanceof ConfigError && pattern.test(err.message));
    fails({ tlsCert: '/nonexistent/c.pem', tlsKey: a.keyPath }, /D1AUTHZ_TLS_CERT \(tlsCert\): cannot read \/nonexistent\/c\.pem: ENOENT/);
    fails({ tlsCert: a.certPath, tlsKey: '/nonexistent/k.pem' }, /D1AUTHZ_TLS_KEY \(tlsKey\): cannot read/);
    fails({ tlsCert: a.keyPath, tlsKey: a.keyPath }, /D1AUTHZ_TLS_CERT \(tlsCert\): no PEM certificate/);
    fails({ tlsCert: a.certPath, tlsKey: b.keyPath }, /D1AUTHZ_TLS_KEY \(tlsKey\) does not match D1AUTHZ_TLS_CERT/);
    fails({ tlsCert: a.certPath, tlsKey: a.keyPath, tlsClientCa: a.keyPath }, /D1AUTHZ_TLS_CLIENT_CA \(tlsClientCa\): no PEM certificate/);
  });
});

describe('client TLS settings through the CLI', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, env);

  before(async () => {
    ({ db, env } = await migratedCliDatabase());
  });
  after(() => db?.drop());

  it('create a tls_client_auth client: exactly one expected subject value; no secret printed', async () => {
    const none = await cli('client', 'create', 'mtls', '--auth-method', 'tls_client_auth');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /needs exactly one of --cert-subject-dn, --cert-san-dns, --cert-san-uri, --cert-san-email \(RFC 8705 §2\.1\.2\)/);
    const two = await cli('client', 'create', 'mtls', '--auth-method', 'tls_client_auth', '--cert-san-dns', 'd1.example', '--cert-subject-dn', 'CN=d1');
    assert.equal(two.code, 1);

    const ok = await cli('client', 'create', 'mtls', '--auth-method', 'tls_client_auth', '--cert-subject-dn', 'CN=d1-client,O=Thales,C=FR', '--bound-tokens', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    const okJson = JSON.parse(ok.stdout);
    assert.equal(okJson.client_id, 'mtls');
    assert.equal(okJson.token_endpoint_auth_method, 'tls_client_auth');
    assert.equal('client_secret' in okJson, false, 'no secret for a certificate-only client');
    const human = await cli('client', 'create', 'mtls2', '--auth-method', 'tls_client_auth', '--cert-san-uri', 'spiffe://thales/d1');
    assert.match(human.stdout, /No secret: this client authenticates with its certificate/);
    assert.doesNotMatch(human.stdout, /client_secret:/);

    const shown = JSON.parse((await cli('client', 'show', 'mtls', '--json')).stdout);
    assert.equal(shown.token_endpoint_auth_method, 'tls_client_auth');
    assert.equal(shown.tls_client_auth_subject_dn, 'CN=d1-client,O=Thales,C=FR');
    assert.equal(shown.tls_client_certificate_bound_access_tokens, true);
    assert.match((await cli('client', 'show', 'mtls')).stdout, /auth method: +tls_client_auth\ncert subject: +CN=d1-client,O=Thales,C=FR\nbound tokens: +true/);
  });

  it('update: switch subject value, pin a thumbprint (hex accepted), clear, unbind; bad values refused', async () => {
    const fingerprint = 'C4:29:1C:72:4D:34:99:9E:AE:96:84:E8:15:7A:1C:45:E4:5B:36:15:51:D8:DB:28:06:D0:64:A3:56:94:78:03';
    const upd = await cli('client', 'update', 'mtls', '--cert-subject-dn', '', '--cert-san-dns', 'd1.thales.example', '--cert-thumbprint', fingerprint, '--no-bound-tokens', '--json');
    assert.equal(upd.code, 0, upd.stderr);
    const c = JSON.parse(upd.stdout);
    assert.equal(c.tls_client_auth_subject_dn, null);
    assert.equal(c.tls_client_auth_san_dns, 'd1.thales.example');
    assert.equal(c.tls_client_certificate_thumbprint, Buffer.from(fingerprint.replace(/:/g, ''), 'hex').toString('base64url'));
    assert.equal(c.tls_client_certificate_bound_access_tokens, false);

    // Clearing the only subject value of a tls_client_auth client is refused.
    assert.equal((await cli('client', 'update', 'mtls', '--cert-san-dns', '')).code, 1);
    // Back to secrets: allowed, the binding stays (secret + certificate).
    const basic = JSON.parse((await cli('client', 'update', 'mtls', '--auth-method', 'client_secret_basic', '--json')).stdout);
    assert.equal(basic.token_endpoint_auth_method, 'client_secret_basic');

    for (const [flag, value, message] of [
      ['--cert-subject-dn', 'not a dn', /RFC 4514/],
      ['--cert-san-dns', 'bad name!', /dNSName/],
      ['--cert-san-uri', 'no-scheme', /URI SAN/],
      ['--cert-san-email', 'nobody', /email SAN/],
      ['--cert-thumbprint', 'abc', /thumbprint/],
    ] as const) {
      const r = await cli('client', 'update', 'mtls', flag, value);
      assert.equal(r.code, 1, `${flag} ${value}`);
      assert.match(r.stderr, message);
    }
    const badMethod = await cli('client', 'update', 'mtls', '--auth-method', 'private_key_jwt');
    assert.notEqual(badMethod.code, 0);
    assert.match(badMethod.stderr, /Allowed choices are client_secret_basic, tls_client_auth/);
  });
});
