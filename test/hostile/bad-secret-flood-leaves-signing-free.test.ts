/**
 * Tokens are signed on libuv's thread pool, which the slow secret hashes share. A flood of wrong
 * secrets must not take every thread: D1 with a verified (cached) secret still gets its token while
 * the flood is being hashed. Pinned by order (the token arrives while most of the flood is still
 * pending) and by the hashes running at once, not by a stopwatch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientAuthenticator } from '../../src/domain/clients/client-authenticator.js';
import { ClientDirectory } from '../../src/domain/clients/client-directory.js';
import { ClientService } from '../../src/domain/clients/client-service.js';
import { CredentialCache } from '../../src/domain/clients/credential-cache.js';
import { HashCapacityError } from '../../src/domain/clients/client-authenticator.js';
import { deriveKey, type DerivationParams } from '../../src/domain/clients/secret-hash.js';
import { ClientRepository } from '../../src/store/client-repository.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

const FLOOD = 24;

async function pendingHashes(origin: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('d1authz_secret_hashes_pending '));
  assert.ok(line, 'the pending-hashes gauge is exported');
  return Number(line.split(' ')[1]);
}

describe('a flood of wrong secrets and token signing', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ hashConcurrency: 2, maxPendingHashes: 64 });
  });
  after(() => server.close());

  it('issues a token to a verified client while the flood is still being hashed, and answers every flooding request', async () => {
    const d1 = await server.createClient('d1');
    assert.equal((await server.token(d1.clientId, d1.clientSecret)).status, 200, 'first token: the secret is verified and cached');

    let settled = 0;
    // Distinct wrong secrets: identical ones would share one hash.
    const flood = Array.from({ length: FLOOD }, (_, i) =>
      server.token(d1.clientId, `wrong-${i}-${'x'.repeat(32)}`).finally(() => settled++),
    );
    await waitFor('the flood to be hashing', async () => (await pendingHashes(server.adminOrigin!)) >= FLOOD / 2);

    const token = await server.token(d1.clientId, d1.clientSecret);
    const settledWhenIssued = settled;
    assert.equal(token.status, 200);
    assert.match(token.json.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(settledWhenIssued < FLOOD / 2, `the token came before most of the flood (${settledWhenIssued} of ${FLOOD} answered)`);

    const answers = await Promise.all(flood);
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([401]), 'every flooding request answered, none lost');
    assert.ok(answers.every((a) => a.json.error === 'invalid_client'));
    assert.equal(await pendingHashes(server.adminOrigin!), 0);
  });
});

describe('slow hashes running at once', () => {
  it('never exceeds D1AUTHZ_HASH_CONCURRENCY, queues the rest, and refuses beyond D1AUTHZ_MAX_PENDING_HASHES', async () => {
    const store = await openMigratedStore('sqlite::memory:');
    const repo = new ClientRepository(store.db);
    await new ClientService(repo, { scryptCost: 14, maxTokenTtl: 3600 }).create('known', {}, { secret: 'k'.repeat(32) });
    let running = 0;
    let most = 0;
    const observed = async (secret: Uint8Array, params: DerivationParams) => {
      most = Math.max(most, ++running);
      try {
        return await deriveKey(secret, params);
      } finally {
        running--;
      }
    };
    const directory = new ClientDirectory(repo, { ttlMs: 60_000, outageGraceMs: 0 });
    const auth = await ClientAuthenticator.create(directory, new CredentialCache(60_000), {
      scryptCost: 14,
      maxPendingHashes: 6,
      hashConcurrency: 2,
      derive: observed,
    });

    const attempts = Array.from({ length: 8 }, (_, i) =>
      auth.authenticate({ clientId: i % 2 ? 'known' : `nobody-${i}`, secret: `wrong-${i}` }).then(
        (r) => r.ok,
        (err: Error) => err,
      ),
    );
    const results = await Promise.all(attempts);
    assert.equal(most, 2, 'two hashes at a time');
    // Which two are refused depends on the order the directory lookups finish in; how many does not.
    assert.equal(results.filter((r) => r === false).length, 6, 'the six admitted attempts are all answered');
    assert.equal(results.filter((r) => r instanceof HashCapacityError).length, 2, 'the other two are refused, not queued without bound');
    assert.equal(auth.hashesPending, 0);
    await store.close();
  });
});
