/** The small parsers of the mTLS path: RFC 4514 DNs, Node's subject/SAN strings, Envoy XFCC, CIDRs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalDn, dnEquals, isValidDn } from '../../src/model/distinguished-name.js';
import { isLoopbackHost, nodeSubjectToRfc4514, parseSubjectAltName, parseXfcc, TrustedProxies } from '../../src/tls/index.js';

describe('distinguished names (RFC 4514)', () => {
  it('compare by type and value, case, spacing, aliases and escaping aside; order matters', () => {
    assert.ok(dnEquals('CN=d1 client,O=Thales DIS,C=FR', 'cn=D1  Client, o=thales dis, c=fr'));
    assert.ok(dnEquals('2.5.4.3=x,O=y', 'CN=x,O=y'));
    assert.ok(dnEquals('E=a@b.c,CN=x', 'emailAddress=a@b.c,CN=x'));
    assert.ok(dnEquals('O=Thales\\, DIS', 'O=Thales\\2C DIS'));
    assert.ok(dnEquals('CN=y+OU=x,O=z', 'OU=x+CN=y,O=z'), 'multi-valued RDN: AVA order aside');
    assert.ok(!dnEquals('CN=x,O=y', 'O=y,CN=x'));
    assert.ok(!dnEquals('CN=x,O=y', 'CN=x'));
    assert.ok(!dnEquals('CN=x\\,O=y', 'CN=x,O=y'), 'an escaped comma is not a separator');
    assert.ok(!dnEquals('CN=x', 'not a dn'));
    assert.equal(canonicalDn('CN=Café, C=FR'), 'CN=café,C=fr');
    for (const bad of ['', 'CN', '=x', 'CN=', 'C N=x', 'CN=x\\', 'x'.repeat(1025)]) assert.ok(!isValidDn(bad), bad);
  });

  it("Node's multi-line subject becomes the RFC 4514 string of the same name", () => {
    assert.equal(nodeSubjectToRfc4514('C=FR\nO=Thales\\, DIS\nCN=y + OU=x\nCN=d1'), 'CN=d1,CN=y+OU=x,O=Thales\\, DIS,C=FR');
    assert.ok(dnEquals(nodeSubjectToRfc4514('C=FR\nO=Thales\\, DIS\nCN=d1'), 'CN=d1,O=Thales\\, DIS,C=FR'));
  });
});

describe("Node's subjectAltName string", () => {
  it('lists DNS, URI and email entries; quoted values are JSON', () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.example, DNS:b.example, URI:spiffe://t/d1, email:ops@x.example, IP Address:10.0.0.1'), {
      dns: ['a.example', 'b.example'],
      uri: ['spiffe://t/d1'],
      email: ['ops@x.example'],
    });
    assert.deepEqual(parseSubjectAltName('DNS:"a, DNS:evil.example", DNS:ok.example').dns, ['a, DNS:evil.example', 'ok.example']);
    assert.deepEqual(parseSubjectAltName(undefined), { dns: [], uri: [], email: [] });
  });
});

describe('x-forwarded-client-cert', () => {
  const hash = 'ab'.repeat(32);
  it('Hash only: the thumbprint, and the names Envoy forwarded', () => {
    const c = parseXfcc(`By=spiffe://authz;Hash=${hash};Subject="CN=d1,O=Thales\\, DIS";URI=spiffe://t/d1;DNS=a.example;DNS=b.example`)!;
    assert.equal(c.thumbprint, Buffer.from(hash, 'hex').toString('base64url'));
    assert.equal(c.subjectDn, 'CN=d1,O=Thales\\, DIS');
    assert.deepEqual(c.sanDns, ['a.example', 'b.example']);
    assert.deepEqual(c.sanUri, ['spiffe://t/d1']);
  });
  it('the last element counts; an element without Cert or Hash is no certificate; garbage throws', () => {
    assert.equal(parseXfcc(`Hash=${'cd'.repeat(32)},Hash=${hash}`)!.thumbprint, Buffer.from(hash, 'hex').toString('base64url'));
    assert.equal(parseXfcc('By=spiffe://authz'), undefined);
    assert.throws(() => parseXfcc('Hash=zz'));
    assert.throws(() => parseXfcc('Subject="unterminated'));
    assert.throws(() => parseXfcc('novalue'));
  });
});

describe('addresses', () => {
  it('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.255.0.9', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['0.0.0.0', '::', '128.0.0.1', '10.0.0.1', 'localhost.example', '::2', '1.127.0.0']) assert.ok(!isLoopbackHost(h), h);
  });
  it('trusted proxies: IPv4, IPv6, IPv4-mapped peers', () => {
    const t = new TrustedProxies(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
    assert.ok(t.has('10.2.3.4'));
    assert.ok(t.has('::ffff:10.2.3.4'));
    assert.ok(t.has('192.168.1.7'));
    assert.ok(t.has('fd12::1'));
    assert.ok(!t.has('192.168.1.8'));
    assert.ok(!t.has('127.0.0.1'));
    assert.ok(!t.has(undefined));
    assert.ok(!new TrustedProxies([]).has('127.0.0.1'));
    assert.throws(() => new TrustedProxies(['nope']));
  });
});
