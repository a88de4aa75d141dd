/**
 * Audit rows wait for their batch as bytes (src/store/packed-audit-rows.ts) rather than as objects, so
 * that a busy server's heap does not grow with them. Every row comes back as it went in: any text,
 * nulls kept apart from empty strings, the newest rows dropped exactly when the buffer overflows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AuditTrail, type AuditStore } from '../../src/domain/audit/audit-trail.js';
import { PackedAuditRows, unpackAuditRows } from '../../src/store/packed-audit-rows.js';
import type { NewAuditRow } from '../../src/store/audit-repository.js';

const text = fc.option(fc.string({ unit: 'binary', maxLength: 400 }), { nil: null });
const row = fc.record({
  at: fc.integer({ min: 0, max: 2 ** 52 }),
  type: fc.string({ unit: 'binary', maxLength: 40 }),
  actor: text,
  client_id: text,
  address: text,
  correlation_id: text,
  details: fc.string({ unit: 'binary', maxLength: 2000 }),
});

describe('audit rows as bytes', () => {
  it('any rows come back unchanged, through the copy the writer thread gets too', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), (rows, expected) => {
        const packed = new PackedAuditRows(expected);
        for (const r of rows) packed.push(r);
        assert.equal(packed.count, rows.length);
        // Lone surrogates become U+FFFD in UTF-8, as they would in the database's own encoding.
        const want = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v).toString() : v])));
        assert.deepEqual(packed.rows(), want);
        assert.deepEqual(unpackAuditRows(packed.bytes()), want);
      }),
      { numRuns: 300 },
    );
  });

  it('absent optional columns are stored as null, an empty string stays empty', () => {
    const packed = PackedAuditRows.of([{ at: 1, type: 't', details: '{}' }, { at: 2, type: 't', actor: '', details: '' }]);
    assert.deepEqual(packed.rows(), [
      { at: 1, type: 't', actor: null, client_id: null, address: null, correlation_id: null, details: '{}' },
      { at: 2, type: 't', actor: '', client_id: null, address: null, correlation_id: null, details: '' },
    ]);
  });

  it('truncate keeps the oldest rows, and new rows follow them', () => {
    const packed = PackedAuditRows.of([1, 2, 3, 4].map((i) => ({ at: i, type: 't', details: 'x'.repeat(i * 300) })));
    packed.truncate(2);
    packed.push({ at: 9, type: 't', details: '{}' });
    assert.deepEqual(packed.rows().map((r) => r.at), [1, 2, 9]);
  });
});

describe('the trail drops the newest rows when a failed batch no longer fits', () => {
  it('counts exactly what it drops, across batches, and writes the oldest in order', async () => {
    const written: NewAuditRow[] = [];
    let fail: ((err: Error) => void) | undefined;
    let up = false;
    const store: AuditStore = {
      insert: (batch) =>
        up
          ? Promise.resolve(void written.push(...batch.rows()))
          : new Promise((_, reject) => {
              fail = reject;
            }),
      prune: async () => 0,
    };
    const trail = new AuditTrail(store, {
      bufferSize: 5,
      batchSize: 2,
      flushIntervalMs: 60_000,
      retentionDays: 400,
      pruneIntervalMs: 60_000,
      pruneBatch: 10,
      log: () => {},
      onError: () => {},
    });
    const rec = (i: number) => trail.record({ type: 'token.issued', clientId: `c${i}` }, false);
    rec(0);
    rec(1); // a full batch: its write starts and hangs
    for (let i = 2; i < 9; i++) rec(i); // 5 more fit while it is out (c2..c6), c7 and c8 are dropped
    assert.equal(trail.pending, 5);
    assert.equal(trail.dropped, 2);
    fail!(new Error('store unreachable')); // c0, c1 come back: 7 held, the 2 newest (c5, c6) go
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(trail.pending, 5);
    assert.equal(trail.dropped, 4);
    up = true;
    await trail.close();
    assert.deepEqual(written.map((r) => r.client_id), ['c0', 'c1', 'c2', 'c3', 'c4']);
  });
});
