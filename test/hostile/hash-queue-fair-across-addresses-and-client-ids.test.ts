/**
 * The slow-hash queue (domain/clients/fair-hash-scheduler.ts) in-process: a free slot goes to the
 * address running the fewest, then in turn across client ids; one address holds at most its share;
 * with the budget full, a quieter address takes the place of the busiest one's newest waiting job.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FairHashScheduler, HashCapacityError } from '../../src/domain/clients/fair-hash-scheduler.js';

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('fair hash scheduling', () => {
  it('serves a newcomer address next, then alternates client ids within an address', async () => {
    const s = new FairHashScheduler({ concurrency: 1, maxPending: 100, maxPendingPerAddress: 50 });
    const order: string[] = [];
    const first = gate();
    const running = s.run('10.0.0.1', 'x', () => first.promise.then(() => order.push('flood-0')));
    const jobs: Promise<unknown>[] = [running];
    for (let i = 1; i <= 4; i++) jobs.push(s.run('10.0.0.1', i % 2 ? 'a' : 'b', async () => void order.push(`flood-${i}${i % 2 ? 'a' : 'b'}`)));
    jobs.push(s.run('10.0.0.1', 'a', async () => void order.push('flood-5a')));
    jobs.push(s.run('10.0.0.2', 'd1', async () => void order.push('valid')));
    assert.equal(s.pending, 7);
    first.open();
    await Promise.all(jobs);
    assert.equal(order[0], 'flood-0');
    assert.equal(order[1], 'valid', 'the other address goes first: it runs nothing');
    assert.deepEqual(order.slice(2), ['flood-1a', 'flood-2b', 'flood-3a', 'flood-4b', 'flood-5a'], 'client ids in turn');
    assert.equal(s.pending, 0);
  });

  it('holds one address to its share, and makes room for a quieter address when the budget is full', async () => {
    const s = new FairHashScheduler({ concurrency: 1, maxPending: 4, maxPendingPerAddress: 3 });
    const hold = gate();
    const flood = [0, 1, 2].map((i) => s.run('10.0.0.1', `id-${i}`, () => hold.promise.then(() => i)));
    await assert.rejects(s.run('10.0.0.1', 'id-3', async () => 3), HashCapacityError, 'beyond its share');
    assert.equal(s.hasRoom('10.0.0.1'), false);
    const other = s.run('10.0.0.2', 'x', () => hold.promise.then(() => 'other'));
    assert.equal(s.pending, 4, 'the budget is full');
    // A third address: the busiest (10.0.0.1, three pending) gives up its newest waiting job.
    assert.equal(s.hasRoom('10.0.0.3'), true);
    const third = s.run('10.0.0.3', 'y', async () => 'third');
    hold.open();
    const results = await Promise.allSettled([...flood, other, third]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.ok((results[2] as PromiseRejectedResult).reason instanceof HashCapacityError);
    assert.equal(s.pending, 0);
  });

  it('gives in-process callers (no address) the whole budget', async () => {
    const s = new FairHashScheduler({ concurrency: 1, maxPending: 4, maxPendingPerAddress: 1 });
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => s.run(undefined, 'c', async () => i)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
  });
});
