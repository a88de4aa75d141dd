/**
 * On SQLite the audit batches are written by a thread of their own (store/sqlite-audit-writer.ts):
 * rows arrive in the table, a batch the thread cannot write is rejected (the audit trail keeps it for
 * the next try), a thread that dies fails only its own batches and the next batch starts a new one,
 * and close() waits for the batches in flight.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PackedAuditRows } from '../../src/store/packed-audit-rows.js';
import { SqliteAuditWriter } from '../../src/store/sqlite-audit-writer.js';
import { sqlitePath } from '../../src/store/sqlite-path.js';
import type { Store } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

const row = (i: number, type = 'token.issued') => ({ at: Date.now(), type, actor: 'c', client_id: 'c', address: '127.0.0.1', correlation_id: `corr-${i}`, details: JSON.stringify({ jti: `j-${i}` }) });

describe('SQLite audit rows written by their own thread', () => {
  let db: TestDatabase;
  let store: Store;
  let path: string;
  before(async () => {
    db = await createTestDatabase('sqlite');
    store = await openMigratedStore(db.url);
    path = sqlitePath(db.url)!;
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });
  const count = async () => Number((await store.db.selectFrom('audit_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('writes every row of every batch, nulls included, and close() waits for the batches in flight', async () => {
    const writer = new SqliteAuditWriter(path);
    const batches = [0, 1, 2].map((b) => writer.insert(PackedAuditRows.of(Array.from({ length: 500 }, (_, i) => row(b * 500 + i)))));
    const sparse = writer.insert(PackedAuditRows.of([{ at: Date.now(), type: 'client.authentication_failed', details: '{}' }]));
    await writer.close();
    await Promise.all([...batches, sparse]);
    assert.equal(await count(), 1501);
    const last = await store.db.selectFrom('audit_events').selectAll().where('type', '=', 'client.authentication_failed').executeTakeFirstOrThrow();
    assert.equal(last.actor, null);
    assert.equal(last.client_id, null);
    await assert.rejects(writer.insert(PackedAuditRows.of([row(9)])), /closed/);
  });

  it('rejects a batch the database refuses, and writes the next one', async () => {
    const writer = new SqliteAuditWriter(path);
    // type is NOT NULL: the whole batch rolls back.
    await assert.rejects(writer.insert(PackedAuditRows.of([row(1), { ...row(2), type: null as unknown as string }])), /NOT NULL/);
    const before = await count();
    await writer.insert(PackedAuditRows.of([row(3)]));
    assert.equal(await count(), before + 1);
    await writer.close();
  });

  it('fails the batch of a thread that cannot open its file, and starts a new thread for the next batch', async () => {
    const writer = new SqliteAuditWriter(`${path}.does-not-exist`);
    await assert.rejects(writer.insert(PackedAuditRows.of([row(1)])));
    await assert.rejects(writer.insert(PackedAuditRows.of([row(2)])), 'a new thread, failing the same way');
    await writer.close();
    const good = new SqliteAuditWriter(path);
    const before = await count();
    await good.insert(PackedAuditRows.of([row(4)]));
    assert.equal(await count(), before + 1);
    await good.close();
  });
});
