/**
 * RFC 8705 certificate matching: the registered subject (DN, SAN) and thumbprint a client's certificate
 * must carry, the method it must use, the cnf of a bound token; and RFC 4514 DN comparison under it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '../../src/model/client.js';
import { canonicalDn, displayOrderToRfc4514, dnEquals, isValidDn } from '../../src/model/distinguished-name.js';
import { certificateConfirmation, expectedCertificate, presentsBoundCertificate, subjectValueCount, type ClientCertificate } from '../../src/model/client-certificate.js';
import { checkClientCertificate } from '../../src/protocol/mtls.js';
import { invalidClientError, throwsOAuthError } from '../helpers/oauth-assert.js';
import { fakeCertificate, fakeClient } from '../helpers/protocol-fakes.js';

describe('distinguished names (RFC 4514), compared as RFC 8705 §2.1.2 needs', () => {
  const equal: [string, string, string][] = [
    ['case and spacing of values', 'CN=D1  Client, O=Bank,C=FR', 'cn=d1 client,o=bank,c=fr'],
    ['OIDs for short names', '2.5.4.3=d1,2.5.4.10=Bank', 'CN=d1,O=Bank'],
    ['aliases (E, EMAIL, S)', 'E=a@b.fr,S=IDF', 'EMAILADDRESS=a@b.fr,ST=IDF'],
    ['a multi-valued RDN in any order', 'CN=d1+UID=7,O=Bank', 'UID=7+CN=d1,O=Bank'],
    ['an escaped comma', 'CN=Bank\\, Inc,C=FR', 'CN=bank\\2C inc,C=FR'],
    ['hex-escaped UTF-8', 'CN=caf\\C3\\A9', 'CN=café'],
    ['surrounding blanks of a value', 'CN=  d1  ', 'CN=d1'],
  ];
  for (const [name, a, b] of equal) it(`equal: ${name}`, () => assert.equal(dnEquals(a, b), true));

  const different: [string, string, string][] = [
    ['another CN', 'CN=d1,O=Bank', 'CN=d2,O=Bank'],
    ['the RDNs reversed', 'CN=d1,O=Bank,C=FR', 'C=FR,O=Bank,CN=d1'],
    ['one RDN more', 'CN=d1,O=Bank', 'CN=d1,O=Bank,C=FR'],
    ['an escaped comma against a separator', 'CN=a\\,O=b', 'CN=a,O=b'],
    ['a malformed side', 'CN=d1', 'not a dn'],
  ];
  for (const [name, a, b] of different) it(`different: ${name}`, () => assert.equal(dnEquals(a, b), false));

  const invalid: [string, string][] = [
    ['empty', ''],
    ['no equals sign', 'CN'],
    ['no type', '=d1'],
    ['a bad type', 'C N=d1'],
    ['an empty value', 'CN=,O=Bank'],
    ['an empty RDN', 'CN=d1,,O=Bank'],
    ['a lone trailing backslash', 'CN=d1\\'],
    ['over 1024 characters', `CN=${'a'.repeat(1100)}`],
  ];
  for (const [name, dn] of invalid) {
    it(`invalid: ${name}`, () => {
      assert.equal(isValidDn(dn), false);
      assert.throws(() => canonicalDn(dn), { name: 'DistinguishedNameError' });
    });
  }

  it('display order (country first) is recognised and reversed into RFC 4514 order', () => {
    assert.equal(displayOrderToRfc4514('C=FR, O=Bank, CN=d1'), 'CN=d1,O=Bank,C=FR');
    assert.equal(displayOrderToRfc4514('CN=d1,O=Bank,C=FR'), undefined);
    assert.equal(displayOrderToRfc4514('CN=d1'), undefined);
    assert.equal(displayOrderToRfc4514('garbage'), undefined);
  });
});

describe('certificate matching (RFC 8705 §2.1)', () => {
  const tlsClient = (overrides: Partial<Client>) => fakeClient({ tokenEndpointAuthMethod: 'tls_client_auth', ...overrides });
  const cert = (overrides: Partial<ClientCertificate> = {}) =>
    fakeCertificate({ subjectDn: 'CN=d1 client,O=Bank,C=FR', sanDns: ['Api.Bank.example'], sanUri: ['spiffe://bank/d1'], sanEmail: ['Ops@Bank.Example'], ...overrides });

  const matches: [string, Partial<Client>][] = [
    ['subject DN, compared as a DN', { tlsClientAuthSubjectDn: 'cn=D1 Client, o=bank, c=fr' }],
    ['dNSName SAN, case-insensitive', { tlsClientAuthSanDns: 'api.bank.EXAMPLE' }],
    ['URI SAN, exact', { tlsClientAuthSanUri: 'spiffe://bank/d1' }],
    ['rfc822Name SAN, the domain case-insensitive', { tlsClientAuthSanEmail: 'Ops@bank.example' }],
    ['subject DN and a thumbprint pin', { tlsClientAuthSubjectDn: 'CN=d1 client,O=Bank,C=FR', tlsClientCertificateThumbprint: 'thumb-1' }],
  ];
  for (const [name, registration] of matches) {
    it(`tls_client_auth matches: ${name}`, () => {
      const client = tlsClient(registration);
      assert.doesNotThrow(() => checkClientCertificate(client, 'tls_client_auth', cert()));
      assert.equal(presentsBoundCertificate(client, cert()), true);
    });
  }

  const mismatches: [string, Partial<Client>, Partial<ClientCertificate>, RegExp][] = [
    ['another subject DN', { tlsClientAuthSubjectDn: 'CN=other' }, {}, /subject DN does not match/],
    ['a proxy that forwarded no subject', { tlsClientAuthSubjectDn: 'CN=d1 client,O=Bank,C=FR' }, { subjectDn: undefined, source: 'proxy-header' }, /^client certificate \(proxy-header\) subject DN/],
    ['another dNSName', { tlsClientAuthSanDns: 'other.bank.example' }, {}, /dNSName SAN does not match/],
    ['a URI in another case', { tlsClientAuthSanUri: 'SPIFFE://bank/d1' }, {}, /URI SAN does not match/],
    ['an email whose local part differs in case', { tlsClientAuthSanEmail: 'ops@bank.example' }, {}, /rfc822Name SAN does not match/],
    ['the right DN but another thumbprint', { tlsClientAuthSubjectDn: 'CN=d1 client,O=Bank,C=FR', tlsClientCertificateThumbprint: 'thumb-2' }, {}, /thumbprint does not match/],
  ];
  for (const [name, registration, presented, detail] of mismatches) {
    it(`tls_client_auth refuses ${name}`, () => {
      const client = tlsClient(registration);
      throwsOAuthError(() => checkClientCertificate(client, 'tls_client_auth', cert(presented)), invalidClientError(detail));
      assert.equal(presentsBoundCertificate(client, cert(presented)), false);
    });
  }

  it('tls_client_auth needs exactly one subject value registered (§2.1.2)', () => {
    const none = tlsClient({ tlsClientCertificateThumbprint: 'thumb-1' });
    const two = tlsClient({ tlsClientAuthSubjectDn: 'CN=d1 client,O=Bank,C=FR', tlsClientAuthSanDns: 'api.bank.example' });
    assert.equal(subjectValueCount(expectedCertificate(none)), 0);
    assert.equal(subjectValueCount(expectedCertificate(two)), 2);
    for (const client of [none, two]) {
      throwsOAuthError(() => checkClientCertificate(client, 'tls_client_auth', cert()), invalidClientError(/without exactly one expected subject value/));
    }
  });
  it('the method used must be the registered one', () => {
    throwsOAuthError(() => checkClientCertificate(fakeClient(), 'tls_client_auth', cert()), invalidClientError(/registered for client_secret_basic but used tls_client_auth/));
    throwsOAuthError(() => checkClientCertificate(tlsClient({ tlsClientAuthSanDns: 'api.bank.example' }), 'client_secret_basic', cert()), invalidClientError(/registered for tls_client_auth but used client_secret_basic/));
  });
  it('a secret client bound to nothing needs no certificate and ignores one', () => {
    assert.doesNotThrow(() => checkClientCertificate(fakeClient(), 'client_secret_basic', undefined));
    assert.doesNotThrow(() => checkClientCertificate(fakeClient(), 'client_secret_basic', cert({ subjectDn: 'CN=anyone' })));
    assert.equal(expectedCertificate(fakeClient()), undefined);
  });
  it('a secret client bound to a certificate must present that one', () => {
    const bound = fakeClient({ tlsClientCertificateThumbprint: 'thumb-1' });
    assert.doesNotThrow(() => checkClientCertificate(bound, 'client_secret_basic', cert()));
    throwsOAuthError(() => checkClientCertificate(bound, 'client_secret_basic', undefined), invalidClientError(/must present a client certificate; none was presented/));
    throwsOAuthError(() => checkClientCertificate(bound, 'client_secret_basic', cert({ thumbprint: 'x' })), invalidClientError(/thumbprint does not match/));
  });
  it('a client registered for bound tokens must present a certificate (§3)', () => {
    const client = fakeClient({ certificateBoundTokens: true });
    throwsOAuthError(() => checkClientCertificate(client, 'client_secret_basic', undefined), invalidClientError(/none was presented/));
    assert.doesNotThrow(() => checkClientCertificate(client, 'client_secret_basic', cert()));
  });
  it('cnf.x5t#S256 only for a client registered for bound tokens that presented a certificate (§3.1)', () => {
    assert.deepEqual(certificateConfirmation(fakeClient({ certificateBoundTokens: true }), cert()), { 'x5t#S256': 'thumb-1' });
    assert.equal(certificateConfirmation(fakeClient({ certificateBoundTokens: true }), undefined), undefined);
    assert.equal(certificateConfirmation(fakeClient(), cert()), undefined);
  });
});
