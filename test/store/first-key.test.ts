/**
 * The first signing key is created by whichever node starts first. Several nodes starting at
 * once on an empty store must not each create one that signs at once (two keys signing at the
 * same time, a different kid per node): exactly one insert wins.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { KeyProviders } from '../../src/domain/keys/key-providers.js';
import { KeyService } from '../../src/domain/keys/key-service.js';
import { LocalKeyProvider } from '../../src/domain/keys/local/local-provider.js';
import { openStore } from '../../src/store/database.js';
import { KeyRepository } from '../../src/store/key-repository.js';
import { migrateToLatest } from '../../src/store/migrations.js';
import { createTestDatabase } from '../helpers/database.js';
import { cliEnv, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { basicAuth } from '../helpers/server.js';
import { freePort } from '../helpers/free-port.js';

const POLICY = { signingAlg: 'ES256', keyActivationDelay: 120, maxTokenTtl: 3600, clockSkew: 60 } as const;

describe('first signing key', () => {
  it('PostgreSQL: eight nodes calling ensureKey at once on an empty database create exactly one key (5 rounds)', async () => {
    const db = await createTestDatabase('postgres');
    const stores = Array.from({ length: 8 }, () => openStore(db.url));
    try {
      await migrateToLatest(stores[0]!);
      const masterKey = randomBytes(32);
      const services = stores.map((s) => new KeyService(new KeyRepository(s.db), new KeyProviders(new LocalKeyProvider({ current: masterKey })), POLICY));
      for (let round = 0; round < 5; round++) {
        await stores[0]!.db.deleteFrom('signing_keys').execute();
        // Every pool holds an open connection, so the race is between transactions, not connection set-up.
        assert.ok((await Promise.all(stores.map((s) => s.ping()))).every(Boolean));
        const created = (await Promise.all(services.map((s) => s.ensureKey()))).filter((kid) => kid !== null);
        const rows = await stores[0]!.db.selectFrom('signing_keys').select('kid').where('standby', '=', 0).execute();
        const standbys = await stores[0]!.db.selectFrom('signing_keys').select('kid').where('standby', '=', 1).execute();
        assert.equal(standbys.length, 1, `round ${round}: one standby key`);
        assert.equal(created.length, 1, `round ${round}: one winner`);
        assert.deepEqual(
          rows.map((r) => r.kid),
          created,
          `round ${round}: one key in the store`,
        );
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await db.drop();
    }
  });

  it('three `serve` processes started at once on an empty, migrated store all sign with the one key created', async () => {
    const db = await createTestDatabase();
    const env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_SCRYPT_COST: '14' });
    const nodes: ServeProcess[] = [];
    try {
      assert.equal((await runCli(['migrate'], env)).code, 0);
      const ports = await Promise.all([freePort(), freePort(), freePort()]);
      const started = await Promise.allSettled(ports.map((port) => spawnServe(env, port, ['--workers', '1'])));
      for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;

      const store = openStore(db.url);
      const rows = await store.db.selectFrom('signing_keys').select('kid').where('standby', '=', 0).execute();
      await store.close();
      assert.equal(rows.length, 1, 'one first key');

      const created = JSON.parse((await runCli(['client', 'create', 'race', '--json'], env)).stdout);
      for (const node of nodes) {
        const res = await fetch(`${node.origin}/authz/d1/v1/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth('race', created.client_secret) },
          body: 'grant_type=client_credentials',
        });
        assert.equal(res.status, 200);
        assert.equal(decodeProtectedHeader((await res.json()).access_token).kid, rows[0]!.kid);
      }
      for (const node of nodes.splice(0)) assert.equal(await node.stop('SIGTERM'), 0);
    } finally {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
      await db.drop();
    }
  });
});
