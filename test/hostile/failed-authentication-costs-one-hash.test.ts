/**
 * A failed authentication costs exactly one slow derivation whatever the client (unknown, disabled,
 * in a secret-rotation grace period) and whatever the presented secret holds ("%", "+", control
 * characters). Pinned by counting derivations, not by a stopwatch. Before, a client in grace cost two
 * and a guess with "%" or "+" two (four in grace): one hash per candidate encoding and live secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientAuthenticator } from '../../src/domain/clients/client-authenticator.js';
import { ClientDirectory } from '../../src/domain/clients/client-directory.js';
import { CredentialCache } from '../../src/domain/clients/credential-cache.js';
import { ClientService } from '../../src/domain/clients/client-service.js';
import { deriveKey, type DerivationParams } from '../../src/domain/clients/secret-hash.js';
import { ClientRepository } from '../../src/store/client-repository.js';
import type { Store } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

const OLD = 'o'.repeat(32);
const PLUS = 'ab+cd%2Fef%zz' + 'p'.repeat(24); // a "+", a valid and an invalid escape

describe('failed authentication: one slow hash, whatever the client and the guess', () => {
  let db: TestDatabase;
  let store: Store;
  let auth: ClientAuthenticator;
  let service: ClientService;
  let hashes = 0;
  let rotated: string;

  before(async () => {
    db = await createTestDatabase();
    store = await openMigratedStore(db.url);
    const repo = new ClientRepository(store.db);
    service = new ClientService(repo, { scryptCost: 14, maxTokenTtl: 3600 });
    await service.create('plain', {}, { secret: 'k'.repeat(32) });
    await service.create('off', {}, { secret: 'f'.repeat(32) });
    await service.setEnabled('off', false);
    await service.create('grace', {}, { secret: OLD });
    rotated = (await service.rotateSecret('grace', 3600)).clientSecret;
    await service.create('plus', {}, { secret: PLUS });
    const counting = (secret: Uint8Array, params: DerivationParams) => {
      hashes++;
      return deriveKey(secret, params);
    };
    const directory = new ClientDirectory(repo, { ttlMs: 60_000, outageGraceMs: 0 });
    // No credential cache: every success is a real check too, and counted.
    auth = await ClientAuthenticator.create(directory, new CredentialCache(0), { scryptCost: 14, maxPendingHashes: 8, hashConcurrency: 2, derive: counting });
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  const count = async (clientId: string, secret: string) => {
    hashes = 0;
    const result = await auth.authenticate({ clientId, secret });
    return { ok: result.ok, reason: result.ok ? undefined : result.reason, hashes };
  };

  const guesses = ['x'.repeat(32), 'a%41b+c' + 'x'.repeat(24), '%25%2B+' + 'y'.repeat(26), 'z'.repeat(43) + '%00', 'z\0'];
  for (const clientId of ['nobody', 'plain', 'off', 'grace', 'plus']) {
    for (const guess of guesses) {
      it(`a wrong secret ${JSON.stringify(guess.slice(0, 12))} for ${clientId}: one hash`, async () => {
        const r = await count(clientId, guess);
        assert.equal(r.ok, false);
        assert.equal(r.hashes, 1, JSON.stringify(r));
      });
    }
  }

  it('ids and secrets with control characters are refused after one hash, as any wrong secret', async () => {
    for (const [id, secret] of [
      ['plain\0', 'k'.repeat(32)],
      ['pl\nain', 'k'.repeat(32)],
      ['plain', 'k'.repeat(32) + '\0'],
      ['plain', 'k'.repeat(32) + '%00'],
      ['plain', 'k'.repeat(32) + '%7f'],
      ['plain', 'k'.repeat(32) + '%2500'],
    ] as const) {
      assert.deepEqual(await count(id, secret), { ok: false, reason: 'control_characters', hashes: 1 }, JSON.stringify([id, secret]));
    }
  });

  it('a success costs one hash too: both secrets of a client in grace, a secret sent raw or form-encoded', async () => {
    assert.deepEqual(await count('grace', rotated), { ok: true, reason: undefined, hashes: 1 });
    assert.deepEqual(await count('grace', OLD), { ok: true, reason: undefined, hashes: 1 }, 'the old secret in its grace period');
    assert.deepEqual(await count('plus', PLUS), { ok: true, reason: undefined, hashes: 1 }, 'raw');
    assert.deepEqual(await count('plus', encodeURIComponent(PLUS)), { ok: true, reason: undefined, hashes: 1 }, 'encodeURIComponent');
    assert.deepEqual(await count('plus', new URLSearchParams({ v: PLUS }).toString().slice(2)), { ok: true, reason: undefined, hashes: 1 }, 'form-urlencoded');
    assert.deepEqual(await count('off', 'f'.repeat(32)), { ok: false, reason: 'disabled', hashes: 1 });
  });

  it('three rotations inside the grace period: still one hash, and every live secret works', async () => {
    await service.create('thrice', {}, { secret: 't'.repeat(32) });
    const secrets = ['t'.repeat(32)];
    for (let i = 0; i < 3; i++) secrets.push((await service.rotateSecret('thrice', 3600)).clientSecret);
    for (const s of secrets) assert.deepEqual(await count('thrice', s), { ok: true, reason: undefined, hashes: 1 });
    assert.deepEqual(await count('thrice', 'w'.repeat(43)), { ok: false, reason: 'wrong_secret', hashes: 1 });
  });
});
