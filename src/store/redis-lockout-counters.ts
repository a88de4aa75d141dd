/**
 * Lockout counters in Redis (D1AUTHZ_REDIS_URL), for deployments that keep the store off the
 * failure path. One hash per counter, updated by one Lua script per failure (atomic on the Redis
 * server, the same steps as model/lockout-policy.ts), expiring by itself once it can no
 * longer matter: Redis holds no more than the live counters.
 */
import { Redis } from 'ioredis';
import { baseLockMs, retentionMs, thresholdOf, type CounterState, type LockoutSettings } from '../model/lockout-policy.js';
import type { CounterKey, CounterRow, LockoutCounters } from './lockout-counters.js';

const PREFIX = 'd1authz:lockout:';

const RECORD_FAILURE = `
local now, W, MAX, T, BASE = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local h = redis.call('HMGET', KEYS[1], 'failures', 'window_start', 'lock_ms', 'locked_until')
local f, ws, lm, lu
if not h[1] then
  if T <= 1 then f, ws, lm, lu = 0, now, BASE, now + BASE else f, ws, lm, lu = 1, now, 0, 0 end
else
  f, ws, lm, lu = tonumber(h[1]), tonumber(h[2]), tonumber(h[3]), tonumber(h[4])
  if lu > now then
  elseif lm > 0 and now <= lu + W then
    lm = math.min(lm * 2, MAX); f = 0; ws = now; lu = now + lm
  else
    if now - ws > W then f = 0; ws = now end
    f = f + 1
    if f >= T then f = 0; ws = now; lm = BASE; lu = now + BASE else lm = 0 end
  end
end
local fmt = function(x) return string.format('%.0f', x) end
redis.call('HSET', KEYS[1], 'failures', fmt(f), 'window_start', fmt(ws), 'lock_ms', fmt(lm), 'locked_until', fmt(lu),
  'last_failure_at', fmt(now), 'address', ARGV[6], 'client_id', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
return {fmt(f), fmt(ws), fmt(lm), fmt(lu)}
`;

type WithScript = Redis & { d1authzLockoutFailure(key: string, ...args: string[]): Promise<string[]> };

export class RedisLockoutCounters implements LockoutCounters {
  private readonly redis: WithScript;

  constructor(url: string, onError: (err: Error) => void) {
    // Commands fail at once while disconnected instead of queueing: the lockout fails open, never waits.
    const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: true });
    redis.on('error', onError);
    redis.defineCommand('d1authzLockoutFailure', { numberOfKeys: 1, lua: RECORD_FAILURE });
    this.redis = redis as WithScript;
  }

  /** Connects, within `timeoutMs`; false when Redis did not answer (the lockout then fails open until it does). */
  async connect(timeoutMs: number): Promise<boolean> {
    const timer = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
    return Promise.race([this.redis.connect().then(() => true, () => false), timer]);
  }

  async recordFailure(keys: readonly CounterKey[], now: number, s: LockoutSettings): Promise<CounterState[]> {
    const args = (k: CounterKey) => [now, s.windowMs, s.maxMs, thresholdOf(s, k), baseLockMs(s), k.address, k.clientId ?? '', retentionMs(s)].map(String);
    const results = await Promise.all(keys.map((k) => this.redis.d1authzLockoutFailure(PREFIX + k.key, ...args(k))));
    return results.map(([f, ws, lm, lu]) => ({ failures: Number(f), windowStart: Number(ws), lockMs: Number(lm), lockedUntil: Number(lu) }));
  }

  async lockedUntil(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const k of keys) pipeline.hget(PREFIX + k, 'locked_until');
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, v]) => {
      if (err) throw err;
      return v === null ? 0 : Number(v);
    });
  }

  private async rows(): Promise<CounterRow[]> {
    const rows: CounterRow[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const k of keys) pipeline.hgetall(k);
      const all = (await pipeline.exec()) ?? [];
      all.forEach(([err, h], i) => {
        const v = h as Record<string, string>;
        if (err || !v || v.address === undefined) return;
        rows.push({
          key: keys[i]!.slice(PREFIX.length),
          address: v.address,
          clientId: v.client_id ? v.client_id : null,
          failures: Number(v.failures),
          windowStart: Number(v.window_start),
          lockMs: Number(v.lock_ms),
          lockedUntil: Number(v.locked_until),
          lastFailureAt: Number(v.last_failure_at),
        });
      });
    } while (cursor !== '0');
    return rows;
  }

  async list(now: number, s: LockoutSettings): Promise<CounterRow[]> {
    const rows = (await this.rows()).filter((r) => r.lockedUntil > now || (r.failures > 0 && r.windowStart >= now - s.windowMs));
    return rows.sort((a, b) => b.lockedUntil - a.lockedUntil || (a.key < b.key ? -1 : 1));
  }

  async clear(subject: string): Promise<number> {
    const doomed = (await this.rows()).filter((r) => r.address === subject || r.clientId === subject).map((r) => PREFIX + r.key);
    return doomed.length ? this.redis.del(...doomed) : 0;
  }

  async lockedAddresses(now: number): Promise<number> {
    return new Set((await this.rows()).filter((r) => r.lockedUntil > now).map((r) => r.address)).size;
  }

  /** Redis expires counters by itself (PEXPIRE on every failure). */
  async prune(): Promise<number> {
    return 0;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
