/**
 * An unknown client must cost the same as a wrong secret, so timing does not reveal which
 * client ids exist. Pinned structurally (the number of slow hashes run), not by a stopwatch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientAuthenticator } from '../../src/domain/clients/client-authenticator.js';
import { ClientDirectory } from '../../src/domain/clients/client-directory.js';
import { CredentialCache } from '../../src/domain/clients/credential-cache.js';
import { ClientService } from '../../src/domain/clients/client-service.js';
import { deriveKey, type DerivationParams } from '../../src/domain/clients/secret-hash.js';
import { ClientRepository } from '../../src/store/client-repository.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

describe('client enumeration by timing', () => {
  it('runs exactly one slow hash (wall time) for an unknown client, a wrong secret and a disabled client', async () => {
    const store = await openMigratedStore('sqlite::memory:');
    const repo = new ClientRepository(store.db);
    const service = new ClientService(repo, { scryptCost: 14, maxTokenTtl: 3600 });
    await service.create('known', {}, { secret: 'k'.repeat(32) });
    await service.create('off', {}, { secret: 'o'.repeat(32) });
    await service.setEnabled('off', false);

    let hashes = 0;
    const counting = (secret: Uint8Array, params: DerivationParams) => {
      hashes++;
      return deriveKey(secret, params);
    };
    const directory = new ClientDirectory(repo, { ttlMs: 60_000, outageGraceMs: 0 });
    const auth = await ClientAuthenticator.create(directory, new CredentialCache(60_000), { scryptCost: 14, maxPendingHashes: 8, hashConcurrency: 2, derive: counting });

    const count = async (clientId: string, secret: string) => {
      hashes = 0;
      const result = await auth.authenticate({ clientId, secret });
      return { ok: result.ok, hashes };
    };
    assert.deepEqual(await count('nobody', 'x'.repeat(32)), { ok: false, hashes: 1 });
    assert.deepEqual(await count('known', 'wrong'), { ok: false, hashes: 1 });
    assert.deepEqual(await count('off', 'o'.repeat(32)), { ok: false, hashes: 1 });
    assert.deepEqual(await count('known', 'k'.repeat(32)), { ok: true, hashes: 1 });
    assert.deepEqual(await count('known', 'k'.repeat(32)), { ok: true, hashes: 0 }, 'verified once, then served from the credential cache');

    // A cold burst of identical credentials (D1 after a deploy) shares one slow hash instead of queueing 20.
    await service.create('burst', {}, { secret: 'b'.repeat(32) });
    hashes = 0;
    const results = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate({ clientId: 'burst', secret: 'b'.repeat(32) })));
    assert.ok(results.every((r) => r.ok));
    assert.equal(hashes, 1);
    await store.close();
  });
});
