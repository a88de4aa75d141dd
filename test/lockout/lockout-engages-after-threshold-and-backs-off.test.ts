/**
 * Failed client authentications from one address, past D1AUTHZ_LOCKOUT_THRESHOLD within
 * D1AUTHZ_LOCKOUT_WINDOW, get 429 + Retry-After + an RFC 6749-shaped body, without a slow hash; the
 * lock doubles with each failure after it ends, up to D1AUTHZ_LOCKOUT_MAX; other addresses are not
 * touched. Threshold 3 and window 3 s here: locks of 1 s, 2 s, then the cap of 4 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientAuthenticator } from '../../src/domain/clients/client-authenticator.js';
import { ClientDirectory } from '../../src/domain/clients/client-directory.js';
import { ClientService } from '../../src/domain/clients/client-service.js';
import { CredentialCache } from '../../src/domain/clients/credential-cache.js';
import { deriveKey, type Derive } from '../../src/domain/clients/secret-hash.js';
import { LockedOutError, Lockout } from '../../src/domain/lockout/lockout.js';
import { authenticateClient, type ClientAuthenticationDeps } from '../../src/protocol/client-authentication.js';
import { ClientRepository } from '../../src/store/client-repository.js';
import { LockoutRepository } from '../../src/store/lockout-repository.js';
import { metric, tokenFrom, type FromResult } from '../helpers/from-address.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

const ATTACKER = '127.0.0.2';

function assertLockedOut(res: FromResult, retryAfter: string): void {
  assert.equal(res.status, 429, JSON.stringify(res.json));
  assert.equal(res.headers['retry-after'], retryAfter);
  assert.equal(res.json.error, 'temporarily_unavailable');
  assert.equal(typeof res.json.error_description, 'string');
  assert.deepEqual(Object.keys(res.json).sort(), ['error', 'error_description']);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.headers['cache-control'], 'no-store');
}

describe('brute-force lockout', () => {
  let server: TestServer;
  let d1: { clientId: string; clientSecret: string };
  before(async () => {
    server = await startTestServer({ scryptCost: 14, lockoutThreshold: 3, lockoutWindow: 3, lockoutMax: 4 });
    d1 = await server.createClient('d1');
    await server.createClient('elsewhere');
  });
  after(() => server?.close());

  const wrong = (i: number, clientId = 'd1', from = ATTACKER) => tokenFrom(from, server.tokenUrl, clientId, `wrong-${i}-${'x'.repeat(32)}`);

  it('engages after the threshold, then doubles while failures go on, capped, and never touches another address', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await wrong(i)).status, 401, `failure ${i + 1} is answered as usual`);
    assertLockedOut(await wrong(3), '1');
    assertLockedOut(await tokenFrom(ATTACKER, server.tokenUrl, 'd1', d1.clientSecret), '1');
    assert.equal(await metric(server.adminOrigin!, 'd1authz_lockouts_total{scope="client"}'), 1);
    assert.equal(await metric(server.adminOrigin!, 'd1authz_lockout_addresses_locked'), 1);

    // Another address: neither the guesses nor the lock reach it.
    const other = await tokenFrom('127.0.0.3', server.tokenUrl, 'd1', d1.clientSecret);
    assert.equal(other.status, 200, JSON.stringify(other.json));
    assert.equal((await wrong(100, 'd1', '127.0.0.3')).status, 401);

    let n = 4;
    for (const lock of ['2', '4', '4']) {
      await waitFor('the lock to end', async () => (await wrong(n++)).status === 401, 10_000, 100);
      assertLockedOut(await wrong(n++), lock);
    }
    assert.ok((await metric(server.adminOrigin!, 'd1authz_lockouts_total{scope="client"}'))! >= 4);
    const warned = server.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'lockout: client id locked for this address');
    assert.ok(warned.length >= 4 && warned.every((l) => l.level === 40 && l.address === ATTACKER && l.client_id === 'd1'));
  });

});

describe('brute-force lockout of a whole address', () => {
  let server: TestServer;
  before(async () => {
    // A long window: fifteen slow hashes on a loaded machine must fall in one.
    server = await startTestServer({ scryptCost: 14, lockoutThreshold: 3, lockoutWindow: 60, lockoutMax: 60 });
    await server.createClient('elsewhere');
  });
  after(() => server?.close());

  const wrong = (i: number, clientId: string, from: string) => tokenFrom(from, server.tokenUrl, clientId, `wrong-${i}-${'x'.repeat(32)}`);

  it('locks the address for every client id once it alone crosses five times the threshold', async () => {
    const from = '127.0.0.4';
    // Five client ids, three failures each: each id locks, and the fifteenth failure locks the address.
    for (let id = 0; id < 5; id++) for (let i = 0; i < 3; i++) assert.equal((await wrong(i, `nobody-${id}`, from)).status, 401);
    const res = await tokenFrom(from, server.tokenUrl, 'elsewhere', 'not-yet-tried-from-here-xxxxxxxxxxxxxxxx');
    assertLockedOut(res, '20');
    assert.equal(await metric(server.adminOrigin!, 'd1authz_lockouts_total{scope="address"}'), 1);
  });

  it('counts malformed credentials too', async () => {
    const from = '127.0.0.5';
    const malformed = () => tokenFrom(from, server.tokenUrl, 'x', 'y', { authorization: 'Basic !!!' });
    for (let i = 0; i < 15; i++) assert.equal((await malformed()).status, 401);
    // The address crossed its own threshold: a well-formed attempt for any client is refused.
    assertLockedOut(await wrong(0, 'elsewhere', from), '20');
    assert.equal((await tokenFrom(from, server.tokenUrl, 'x', 'y', { authorization: basicAuth('x', 'y') })).status, 429);
  });
});

describe('a locked-out attempt', () => {
  it('is refused before its slow hash runs', async () => {
    const store = await openMigratedStore('sqlite::memory:');
    const repo = new ClientRepository(store.db);
    await new ClientService(repo, { scryptCost: 14, maxTokenTtl: 3600 }).create('known', {}, { secret: 'k'.repeat(32) });
    let hashes = 0;
    const counting: Derive = (secret, params) => (hashes++, deriveKey(secret, params));
    const directory = new ClientDirectory(repo, { ttlMs: 60_000, outageGraceMs: 0 });
    const cache = new CredentialCache(60_000);
    const auth = await ClientAuthenticator.create(directory, cache, { scryptCost: 14, maxPendingHashes: 8, hashConcurrency: 1, derive: counting });
    const lockout = new Lockout(new LockoutRepository(store.db), cache, directory, { threshold: 2, windowMs: 60_000, maxMs: 60_000 });
    const deps: ClientAuthenticationDeps = {
      authenticateClient: (c, source) => auth.authenticate(c, source),
      admitAttempt: (a) => lockout.admit(a),
      authenticationFailed: (a) => lockout.failed(a),
    };
    const attempt = (secret: string) =>
      authenticateClient({ contentType: undefined, authorization: basicAuth('known', secret), body: '', sourceAddress: '192.0.2.7' }, new Map(), deps);
    await assert.rejects(attempt('wrong-1'), { code: 'invalid_client' });
    await assert.rejects(attempt('wrong-2'), { code: 'invalid_client' });
    assert.equal(hashes, 2);
    await assert.rejects(attempt('wrong-3'), (err) => err instanceof LockedOutError && err.retryAfterSeconds === 30);
    await assert.rejects(attempt('k'.repeat(32)), LockedOutError, 'the right secret, never verified before, is refused too');
    assert.equal(hashes, 2, 'no slow hash for a locked-out attempt');
    await lockout.close();
    await store.close();
  });
});
