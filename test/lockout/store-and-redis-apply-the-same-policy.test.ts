/**
 * The lockout rule is written three times: model/lockout-policy.ts (the reference), the
 * store's upsert (SQL, both dialects) and the Redis script. One sequence of failures, chosen to walk
 * every branch (count, lock, failure while locked, doubling, cap, forgiveness, window reset), must
 * leave the same state in each. Also pinned here: how addresses are keyed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { afterFailure, thresholdOf, type CounterState, type LockoutSettings } from '../../src/model/lockout-policy.js';
import { lockoutAddress } from '../../src/domain/lockout/lockout-address.js';
import type { Store } from '../../src/store/database.js';
import { addressCounterKey, clientCounterKey, type LockoutCounters } from '../../src/store/lockout-counters.js';
import { LockoutRepository } from '../../src/store/lockout-repository.js';
import { RedisLockoutCounters } from '../../src/store/redis-lockout-counters.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { openMigratedStore } from '../helpers/migrated-store.js';

const S: LockoutSettings = { threshold: 3, windowMs: 10_000, maxMs: 16_000 };
// Offsets in ms from t0: three failures lock (base 4 s); one while locked; after the end, doubling to 8, 16, then the cap;
// a window of quiet after the lock forgives it; then failures spread wider than the window never lock.
const TIMES = [0, 100, 200, 1000, 4300, 12_400, 28_500, 44_600, 44_700, 80_000, 95_000, 110_000, 111_000];

describe('one lockout rule in the store and in Redis', () => {
  let db: TestDatabase;
  let store: Store;
  let redis: RedisLockoutCounters;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  before(async () => {
    db = await createTestDatabase();
    store = await openMigratedStore(db.url);
    redis = new RedisLockoutCounters('redis://127.0.0.1:6379/0', () => {});
    assert.ok(await redis.connect(5000), 'Redis answers on 127.0.0.1:6379');
  });
  after(async () => {
    await redis?.clear(`${prefix}.addr`);
    await redis?.close();
    await store?.close();
    await db?.drop();
  });

  for (const kind of ['client', 'address'] as const) {
    it(`for a ${kind} key`, async () => {
      const address = `${prefix}.addr`;
      const key = kind === 'client' ? clientCounterKey(address, 'd1') : addressCounterKey(address);
      const threshold = thresholdOf(S, key);
      const t0 = 1_800_000_000_000;
      const times = kind === 'client' ? TIMES : [...Array(threshold).keys()].map((i) => i * 10).concat(TIMES.slice(3));
      let expected: CounterState | undefined;
      const counters: [string, LockoutCounters][] = [['store', new LockoutRepository(store.db)], ['redis', redis]];
      for (const offset of times) {
        expected = afterFailure(expected, t0 + offset, S, threshold);
        for (const [name, c] of counters) {
          const [got] = await c.recordFailure([key], t0 + offset, S);
          assert.deepEqual(got, expected, `${name} after the failure at +${offset} ms`);
        }
      }
    });
  }

  it('walks every branch of the rule (the sequence above is not trivial)', () => {
    let state: CounterState | undefined;
    const seen: number[] = [];
    for (const offset of TIMES) {
      state = afterFailure(state, offset, S, S.threshold);
      seen.push(state.lockMs);
    }
    assert.deepEqual(seen, [0, 0, 4000, 4000, 8000, 16_000, 16_000, 16_000, 16_000, 0, 0, 0, 0]);
  });

  it('keys IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by its /64, and refuses what is not an address', () => {
    assert.equal(lockoutAddress('127.0.0.2'), '127.0.0.2');
    assert.equal(lockoutAddress('::ffff:127.0.0.2'), '127.0.0.2');
    assert.equal(lockoutAddress('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(lockoutAddress('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(lockoutAddress('::1'), '0:0:0:0::/64');
    assert.equal(lockoutAddress('unknown'), undefined);
  });
});
