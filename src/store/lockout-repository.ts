/**
 * Lockout counters in the store (table `lockouts`, migration 0011). A failure is one upsert per key
 * that applies model/lockout-policy.ts in SQL, so workers and nodes failing at once never
 * lose a count (the row is locked for the statement); the same statement runs on SQLite and PostgreSQL.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { baseLockMs, thresholdOf, type CounterState, type LockoutSettings } from '../model/lockout-policy.js';
import type { CounterKey, CounterRow, LockoutCounters } from './lockout-counters.js';
import type { Database } from './schema.js';

const PRUNE_BATCH = 500;

export class LockoutRepository implements LockoutCounters {
  constructor(private readonly db: Kysely<Database>) {}

  async recordFailure(keys: readonly CounterKey[], now: number, s: LockoutSettings): Promise<CounterState[]> {
    const states: CounterState[] = [];
    for (const k of keys) states.push(await this.upsert(k, now, s));
    return states;
  }

  private async upsert(k: CounterKey, now: number, s: LockoutSettings): Promise<CounterState> {
    const base = baseLockMs(s);
    const threshold = thresholdOf(s, k);
    const first = threshold <= 1 ? { failures: 0, lockMs: base, lockedUntil: now + base } : { failures: 1, lockMs: 0, lockedUntil: 0 };
    // Typed parameters: PostgreSQL cannot infer `$1 + $2`; SQLite reads the cast as integer affinity.
    const int = (v: number): RawBuilder<number> => sql`cast(${v} as bigint)`;
    const n = () => int(now);
    // In the policy's order: a lock running, then a failure in the penalty time after a lock, then counting.
    const running = sql`(lockouts.locked_until > ${n()})`;
    const penalty = sql`(lockouts.lock_ms > 0 and ${n()} <= lockouts.locked_until + ${int(s.windowMs)})`;
    const windowOver = sql`(${n()} - lockouts.window_start > ${int(s.windowMs)})`;
    const counted = sql`((case when ${windowOver} then 0 else lockouts.failures end) + 1)`;
    const reached = sql`(${counted} >= ${int(threshold)})`;
    const doubled = sql`(case when lockouts.lock_ms * 2 > ${int(s.maxMs)} then ${int(s.maxMs)} else lockouts.lock_ms * 2 end)`;
    const { rows } = await sql<{ failures: number; window_start: number; lock_ms: number; locked_until: number }>`
      insert into lockouts (key, address, client_id, failures, window_start, lock_ms, locked_until, last_failure_at)
      values (${k.key}, ${k.address}, ${k.clientId ?? null}, ${first.failures}, ${now}, ${first.lockMs}, ${first.lockedUntil}, ${now})
      on conflict (key) do update set
        failures = case when ${running} then lockouts.failures when ${penalty} then 0 when ${reached} then 0 else ${counted} end,
        window_start = case when ${running} then lockouts.window_start when ${penalty} or ${reached} or ${windowOver} then ${n()} else lockouts.window_start end,
        lock_ms = case when ${running} then lockouts.lock_ms when ${penalty} then ${doubled} when ${reached} then ${int(base)} else 0 end,
        locked_until = case when ${running} then lockouts.locked_until when ${penalty} then ${n()} + ${doubled} when ${reached} then ${n()} + ${int(base)} else lockouts.locked_until end,
        last_failure_at = ${n()}
      returning failures, window_start, lock_ms, locked_until`.execute(this.db);
    const r = rows[0]!;
    return { failures: Number(r.failures), windowStart: Number(r.window_start), lockMs: Number(r.lock_ms), lockedUntil: Number(r.locked_until) };
  }

  async lockedUntil(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const rows = await this.db.selectFrom('lockouts').select(['key', 'locked_until']).where('key', 'in', [...keys]).execute();
    const byKey = new Map(rows.map((r) => [r.key, Number(r.locked_until)]));
    return keys.map((k) => byKey.get(k) ?? 0);
  }

  async list(now: number, s: LockoutSettings): Promise<CounterRow[]> {
    const rows = await this.db
      .selectFrom('lockouts')
      .selectAll()
      .where((eb) => eb.or([eb('locked_until', '>', now), eb.and([eb('failures', '>', 0), eb('window_start', '>=', now - s.windowMs)])]))
      .orderBy('locked_until', 'desc')
      .orderBy('key')
      .execute();
    return rows.map((r) => ({
      key: r.key,
      address: r.address,
      clientId: r.client_id,
      failures: Number(r.failures),
      windowStart: Number(r.window_start),
      lockMs: Number(r.lock_ms),
      lockedUntil: Number(r.locked_until),
      lastFailureAt: Number(r.last_failure_at),
    }));
  }

  async clear(subject: string): Promise<number> {
    const result = await this.db.deleteFrom('lockouts').where((eb) => eb.or([eb('address', '=', subject), eb('client_id', '=', subject)])).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async lockedAddresses(now: number): Promise<number> {
    const row = await this.db
      .selectFrom('lockouts')
      .select((eb) => eb.fn.count<number>('address').distinct().as('n'))
      .where('locked_until', '>', now)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async prune(before: number): Promise<number> {
    const batch = this.db.selectFrom('lockouts').select('key').where('last_failure_at', '<', before).limit(PRUNE_BATCH);
    const result = await this.db.deleteFrom('lockouts').where('key', 'in', batch).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async close(): Promise<void> {}
}
