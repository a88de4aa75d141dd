/**
 * The batched audit sink holds a bounded number of events while the store does not take them, counts
 * what it drops (d1authz_audit_events_dropped_total) and writes the rest once the store is back; with
 * D1AUTHZ_AUDIT_SYNC=true the running server has a token's row committed before the token is answered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditTrail, type AuditStore } from '../../src/domain/audit/audit-trail.js';
import type { NewAuditRow } from '../../src/store/audit-repository.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

function flakyStore() {
  const rows: NewAuditRow[] = [];
  let down = true;
  const store: AuditStore = {
    insert: async (batch) => {
      if (down) throw new Error('store unreachable');
      rows.push(...batch.rows());
    },
    prune: async () => 0,
  };
  return { store, rows, up: () => (down = false) };
}

describe('audit sink: bounded buffer, dropped counter', () => {
  it('keeps at most bufferSize events while the store is down, counts the drops, writes the rest when it is back', async () => {
    const flaky = flakyStore();
    const logged: string[] = [];
    const errors: string[] = [];
    const trail = new AuditTrail(flaky.store, {
      bufferSize: 3,
      batchSize: 2,
      flushIntervalMs: 60_000,
      retentionDays: 400,
      pruneIntervalMs: 60_000,
      pruneBatch: 10,
      log: (e) => logged.push(e.type),
      onError: (err) => errors.push(err.message),
    });
    for (let i = 0; i < 5; i++) trail.record({ type: 'token.issued', clientId: `c${i}` });
    await trail.flush();
    assert.equal(logged.length, 5, 'every event is logged at once, stored or not');
    assert.equal(trail.dropped, 2);
    assert.equal(trail.pending, 3);
    assert.ok(errors.length >= 1);
    flaky.up();
    await trail.close();
    assert.deepEqual(flaky.rows.map((r) => r.client_id), ['c0', 'c1', 'c2'], 'the oldest events, in order');
    assert.equal(trail.pending, 0);
  });
});

describe('D1AUTHZ_AUDIT_SYNC=true', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ scryptCost: 14, auditSync: true });
  });
  after(() => server?.close());

  it('the token.issued row is committed when the token is answered', async () => {
    const { clientSecret } = await server.createClient('sync');
    for (let i = 0; i < 5; i++) {
      const res = await server.token('sync', clientSecret);
      assert.equal(res.status, 200);
      const { jti } = JSON.parse(Buffer.from(res.json.access_token.split('.')[1], 'base64url').toString());
      const rows = await server.app.store.db.selectFrom('audit_events').select('details').where('type', '=', 'token.issued').execute();
      assert.ok(rows.some((r) => JSON.parse(r.details).jti === jti), `token ${i} has its row already`);
    }
    assert.equal(server.app.audit!.pending, 0, 'nothing went through the buffer');
  });

  it('the dropped counter and the pending gauge are on /metrics', async () => {
    const text = await (await fetch(`${server.adminOrigin}/metrics`)).text();
    assert.match(text, /^d1authz_audit_events_dropped_total 0$/m);
    assert.match(text, /^d1authz_audit_events_pending 0$/m);
  });

  it('D1AUTHZ_AUDIT_SYNC without the audit trail stops start-up', async () => {
    await assert.rejects(startTestServer({ audit: false, auditSync: true }), /D1AUTHZ_AUDIT_SYNC.*needs the audit trail/s);
  });
});
