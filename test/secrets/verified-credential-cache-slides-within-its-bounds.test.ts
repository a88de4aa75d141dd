/**
 * A verified (client_id, secret) stays cached while it is used: each hit extends it by the TTL, but
 * never beyond the absolute maximum after its verification, nor beyond the secret's own expiry (a
 * rotation's grace period), and any change to the client drops it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialCache } from '../../src/domain/clients/credential-cache.js';
import { loadConfig } from '../../src/config/load.js';

describe('verified-credential cache', () => {
  let now = 0;
  const clock = () => now;

  it('slides while used, up to the absolute maximum', () => {
    now = 0;
    const cache = new CredentialCache(300_000, clock, 3_600_000);
    cache.add('d1', 's', null);
    for (now = 200_000; now < 3_600_000; now += 200_000) assert.equal(cache.has('d1', 's'), true, `in use at ${now / 1000} s`);
    now = 3_600_000;
    assert.equal(cache.has('d1', 's'), false, 'gone at the maximum, however often used');
  });

  it('expires after one TTL unused', () => {
    now = 0;
    const cache = new CredentialCache(300_000, clock, 3_600_000);
    cache.add('d1', 's', null);
    now = 299_999;
    assert.equal(cache.has('d1', 's'), true);
    now = 299_999 + 300_000;
    assert.equal(cache.has('d1', 's'), false);
  });

  it("never outlives the secret's own expiry, and is dropped on a client change", () => {
    now = 0;
    const cache = new CredentialCache(300_000, clock, 3_600_000);
    cache.add('d1', 'old', 400_000);
    cache.add('d1', 'new', null);
    now = 250_000;
    assert.equal(cache.has('d1', 'old'), true);
    assert.equal(cache.has('d1', 'new'), true);
    now = 400_000;
    assert.equal(cache.has('d1', 'old'), false, 'the grace period ended');
    assert.equal(cache.has('d1', 'new'), true);
    cache.dropClient('d1');
    assert.equal(cache.has('d1', 'new'), false);
  });

  it('D1AUTHZ_CREDENTIAL_CACHE_MAX_AGE defaults to 3600 s and may not be below the TTL', () => {
    assert.equal(loadConfig({}, {}).credentialCacheMaxAge, 3600);
    assert.throws(() => loadConfig({}, { D1AUTHZ_CREDENTIAL_CACHE_TTL: '600', D1AUTHZ_CREDENTIAL_CACHE_MAX_AGE: '300' }), /D1AUTHZ_CREDENTIAL_CACHE_MAX_AGE/);
  });
});
