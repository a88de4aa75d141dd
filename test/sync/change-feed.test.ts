/**
 * The change feed against a real store. The commit-order cases need PostgreSQL (sequence values are
 * allocated before commit, so a lower seq can become visible after a higher one): those always run
 * on PostgreSQL. The rest runs on D1AUTHZ_TEST_STORE.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChangeFeed, type ChangeHandlers } from '../../src/domain/sync/change-feed.js';
import { ChangeRepository } from '../../src/store/change-repository.js';
import { recordChange } from '../../src/store/change-repository.js';
import type { Store } from '../../src/store/database.js';
import { createTestDatabase, testStore, type TestDatabase } from '../helpers/database.js';
import { sleep } from '../helpers/wait.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function recorder() {
  const clients: string[] = [];
  let keyLoads = 0;
  let failKeys = false;
  const handlers: ChangeHandlers = {
    client: (id) => void clients.push(id),
    key: async () => {
      keyLoads++;
      if (failKeys) throw new Error('key reload failed');
    },
  };
  return {
    handlers,
    clients,
    get keyLoads() {
      return keyLoads;
    },
    set failKeys(v: boolean) {
      failKeys = v;
    },
  };
}

async function openDatabase(kind: 'sqlite' | 'postgres'): Promise<{ db: TestDatabase; store: Store }> {
  const db = await createTestDatabase(kind);
  return { db, store: await openMigratedStore(db.url) };
}

/** A write whose transaction stays open (its seq allocated, not committed) until release(). */
async function slowWrite(store: Store, subject: string) {
  const inserted = deferred();
  const release = deferred();
  const done = store.db.transaction().execute(async (trx) => {
    await recordChange(trx, 'client', subject, Date.now());
    inserted.resolve();
    await release.promise;
  });
  await inserted.promise;
  return {
    commit: async () => {
      release.resolve();
      await done;
    },
  };
}

describe('change feed: commit order on PostgreSQL', () => {
  let db: TestDatabase;
  let store: Store;
  before(async () => ({ db, store } = await openDatabase('postgres')));
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('delivers a change whose transaction commits after a later seq was read', async () => {
    const r = recorder();
    const feed = new ChangeFeed(new ChangeRepository(store.db), 60_000, r.handlers, () => {});
    await feed.start();
    try {
      const slow = await slowWrite(store, 'slow');
      await recordChange(store.db, 'client', 'fast', Date.now());
      await feed.poll();
      assert.deepEqual(r.clients, ['fast'], 'the later seq is visible first');
      assert.equal(feed.pendingGaps.length, 1, 'the skipped seq is watched');
      await slow.commit();
      await feed.poll();
      assert.deepEqual(r.clients, ['fast', 'slow'], 'the earlier seq is delivered once it commits');
      assert.deepEqual(feed.pendingGaps, []);
      await feed.poll();
      assert.deepEqual(r.clients, ['fast', 'slow'], 'each change once');
    } finally {
      feed.stop();
    }
  });

  it('delivers a change that was in flight when the feed started', async () => {
    const slow = await slowWrite(store, 'inflight');
    await recordChange(store.db, 'client', 'committed-before-start', Date.now());
    const r = recorder();
    const feed = new ChangeFeed(new ChangeRepository(store.db), 60_000, r.handlers, () => {});
    await feed.start();
    try {
      await feed.poll();
      assert.deepEqual(r.clients, [], 'what committed before start is the state the node loads, not a change');
      await slow.commit();
      await feed.poll();
      assert.deepEqual(r.clients, ['inflight']);
    } finally {
      feed.stop();
    }
  });

  it('stops watching a seq whose transaction rolled back once the gap timeout has passed', async () => {
    let now = Date.now();
    const r = recorder();
    const feed = new ChangeFeed(new ChangeRepository(store.db), 60_000, r.handlers, () => {}, { gapTimeoutMs: 1000, now: () => now });
    await feed.start();
    try {
      await store.db
        .transaction()
        .execute(async (trx) => {
          await recordChange(trx, 'client', 'rolled-back', Date.now());
          throw new Error('roll back');
        })
        .catch(() => {});
      await recordChange(store.db, 'client', 'after', Date.now());
      await feed.poll();
      assert.deepEqual(r.clients, ['after']);
      assert.equal(feed.pendingGaps.length, 1);
      now += 1001;
      await feed.poll();
      assert.deepEqual(feed.pendingGaps, []);
    } finally {
      feed.stop();
    }
  });

  it('measures commit -> handler latency at a 100 ms interval', async (t) => {
    const seen = new Map<string, number>();
    const feed = new ChangeFeed(new ChangeRepository(store.db), 100, { client: (id) => void seen.set(id, Date.now()), key: () => {} }, () => {});
    await feed.start();
    const latencies: number[] = [];
    try {
      for (let i = 0; i < 15; i++) {
        await sleep(37 * (i % 3));
        const id = `lat-${i}`;
        await recordChange(store.db, 'client', id, Date.now());
        const committed = Date.now();
        while (!seen.has(id)) await sleep(2);
        latencies.push(seen.get(id)! - committed);
      }
    } finally {
      feed.stop();
    }
    latencies.sort((x, y) => x - y);
    assert.ok(latencies.at(-1)! < 1000, `max ${latencies.at(-1)} ms`);
    t.diagnostic(`commit -> handler: median ${latencies[7]} ms, max ${latencies.at(-1)} ms (interval 100 ms, ${latencies.length} writes)`);
  });
});

describe(`change feed on ${testStore}`, () => {
  let db: TestDatabase;
  let store: Store;
  before(async () => ({ db, store } = await openDatabase(testStore)));
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('retries a failed key reload on the next poll, reports it once, and reloads keys periodically as a safety net', async () => {
    let now = Date.now();
    const r = recorder();
    const errors: string[] = [];
    const feed = new ChangeFeed(new ChangeRepository(store.db), 60_000, r.handlers, (e) => void errors.push(e.message), { keyRefreshMs: 10_000, now: () => now });
    await feed.start();
    try {
      r.failKeys = true;
      await recordChange(store.db, 'key', 'k1', Date.now());
      await feed.poll();
      await feed.poll();
      assert.equal(r.keyLoads, 2, 'retried although no new change arrived');
      assert.deepEqual(errors, ['key reload failed'], 'reported once per failing streak');
      r.failKeys = false;
      await feed.poll();
      assert.equal(r.keyLoads, 3);
      await feed.poll();
      assert.equal(r.keyLoads, 3, 'no reload without a change once it succeeded');
      now += 10_001;
      await feed.poll();
      assert.equal(r.keyLoads, 4, 'periodic reload');
    } finally {
      feed.stop();
    }
  });

  // Regression (client-enable-after-disable): the enable's new cut-off must be known before the cached,
  // disabled client is dropped, or the first tokens after the enable are reported inactive on this node.
  it('reads the revocations of a poll before it drops that poll\'s clients, and drops them even when the read fails', async () => {
    const events: string[] = [];
    let failRead = false;
    const handlers: ChangeHandlers = {
      client: (id) => void events.push(`client ${id}`),
      key: () => {},
      revocation: async () => {
        await sleep(20);
        events.push('revocations read');
        if (failRead) throw new Error('store away');
      },
    };
    const feed = new ChangeFeed(new ChangeRepository(store.db), 60_000, handlers, () => {});
    await feed.start();
    try {
      await store.db.transaction().execute(async (trx) => {
        await recordChange(trx, 'client', 're-enabled', Date.now());
        await recordChange(trx, 'revocation', 're-enabled', Date.now());
      });
      await feed.poll();
      assert.deepEqual(events, ['revocations read', 'client re-enabled']);
      failRead = true;
      events.length = 0;
      await recordChange(store.db, 'client', 'disabled', Date.now());
      await recordChange(store.db, 'revocation', 'disabled', Date.now());
      await feed.poll().catch(() => {});
      assert.deepEqual(events, ['revocations read', 'client disabled'], 'a failed read does not keep a disabled client cached');
    } finally {
      feed.stop();
    }
  });

  it('skips the client changes this process applied itself (appliedHere), and only those', async () => {
    const r = recorder();
    const feed = new ChangeFeed(new ChangeRepository(store.db), 60_000, r.handlers, () => {});
    await feed.start();
    try {
      const mine = await recordChange(store.db, 'client', 'changed-here', Date.now());
      await recordChange(store.db, 'client', 'changed-elsewhere', Date.now());
      feed.appliedHere(mine);
      await feed.poll();
      assert.deepEqual(r.clients, ['changed-elsewhere']);
      // A seq already read counts as any other: told late, it does not swallow a later change.
      const late = await recordChange(store.db, 'client', 'read-before-told', Date.now());
      await feed.poll();
      feed.appliedHere(late);
      const next = await recordChange(store.db, 'client', 'changed-elsewhere', Date.now());
      assert.ok(next > late);
      await feed.poll();
      assert.deepEqual(r.clients, ['changed-elsewhere', 'read-before-told', 'changed-elsewhere']);
    } finally {
      feed.stop();
    }
  });

  it('pages through a backlog larger than one read', async () => {
    const r = recorder();
    const feed = new ChangeFeed(new ChangeRepository(store.db), 60_000, r.handlers, () => {});
    await feed.start();
    try {
      const rows = Array.from({ length: 2500 }, (_, i) => ({ kind: 'client' as const, subject: `bulk-${i}`, created_at: Date.now() }));
      for (let i = 0; i < rows.length; i += 500) await store.db.insertInto('changes').values(rows.slice(i, i + 500)).execute();
      await feed.poll();
      assert.equal(r.clients.length, 2500);
      assert.equal(new Set(r.clients).size, 2500);
    } finally {
      feed.stop();
    }
  });
});
