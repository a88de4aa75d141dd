/**
 * Token events are batched off the request path, so a SIGTERM must write what is buffered before the
 * process exits: under `serve --workers 2`, every token answered before the SIGTERM has its audit row,
 * and both workers wrote theirs.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openServices } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { openStore } from '../../src/store/database.js';
import { pino } from 'pino';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { logLines, tokenAt } from '../helpers/http.js';
import { cliEnv, spawnServe } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';
import { migrateDatabase } from '../helpers/migrated-store.js';

describe('token events under --workers 2 and SIGTERM', () => {
  let db: TestDatabase;
  const masterKey = randomBytes(32).toString('base64');
  let secret = '';
  before(async () => {
    db = await createTestDatabase();
    await migrateDatabase(db.url);
    const services = await openServices(loadConfig({ databaseUrl: db.url, masterKey, scryptCost: 14 }, {}), pino({ level: 'silent' }));
    secret = (await services.clients.create('flushed', {})).clientSecret;
    await services.close();
  });
  after(() => db.drop());

  it('every token answered before SIGTERM has its token.issued row, written by both workers', async () => {
    const env = cliEnv(db.url, masterKey, { D1AUTHZ_SCRYPT_COST: '14' });
    // Two workers each load the TypeScript sources: generous on a loaded machine.
    const serve = await spawnServe(env, await freePort(), ['--workers', '2'], { startTimeoutMs: 120_000 });
    // /healthz answers once the first worker listens: wait for the second, or the load may all go to the first.
    await waitFor('both workers listening', () => logLines(serve.output()).filter((l) => l.msg === 'worker listening').length === 2, 120_000);
    const jtis: string[] = [];
    try {
      // Many short connections: the cluster's round-robin hands them to both workers.
      for (let round = 0; round < 4; round++) {
        const batch = await Promise.all(Array.from({ length: 20 }, () => tokenAt(serve.origin, 'flushed', secret, 10_000)));
        for (const r of batch) {
          assert.equal(r.status, 200);
          jtis.push(JSON.parse(Buffer.from(r.json.access_token.split('.')[1], 'base64url').toString()).jti);
        }
      }
    } finally {
      assert.equal(await serve.stop('SIGTERM'), 0);
    }
    const store = openStore(db.url);
    try {
      const rows = await store.db.selectFrom('audit_events').select(['details']).where('type', '=', 'token.issued').execute();
      const written = new Set(rows.map((r) => JSON.parse(r.details).jti));
      assert.deepEqual(jtis.filter((j) => !written.has(j)), [], 'tokens without an audit row');
    } finally {
      await store.close();
    }
    const pids = new Set(logLines(serve.output()).filter((l) => l.audit === 'token.issued').map((l) => l.pid));
    assert.equal(pids.size, 2, 'both workers issued (and audited) tokens');
  });
});
