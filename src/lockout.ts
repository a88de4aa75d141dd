/**
 * Composition of the brute-force lockout (called from app.ts and the CLI): which counters
 * (Redis when D1AUTHZ_REDIS_URL is set, else the store), the settings, and what hears a lock.
 */
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { DEFAULT_STORE_WAIT_MS, type ClientDirectory } from './domain/clients/client-directory.js';
import type { CredentialCache } from './domain/clients/credential-cache.js';
import { Lockout } from './domain/lockout/lockout.js';
import type { LockoutSettings } from './model/lockout-policy.js';
import type { ClientAuthenticationDeps } from './protocol/client-authentication.js';
import type { Store } from './store/database.js';
import type { LockoutCounters } from './store/lockout-counters.js';
import { LockoutRepository } from './store/lockout-repository.js';
import { RedisLockoutCounters } from './store/redis-lockout-counters.js';

export const lockoutSettings = (config: Pick<Config, 'lockoutThreshold' | 'lockoutWindow' | 'lockoutMax'>): LockoutSettings => ({
  threshold: config.lockoutThreshold,
  windowMs: config.lockoutWindow * 1000,
  maxMs: config.lockoutMax * 1000,
});

/** The shared counters. Redis is connected within a few seconds or left to reconnect (failing open meanwhile). */
export async function openLockoutCounters(config: Config, store: Store, logger: Logger): Promise<LockoutCounters> {
  if (!config.redisUrl) return new LockoutRepository(store.db);
  let reported = false;
  const redis = new RedisLockoutCounters(config.redisUrl, (err) => {
    if (reported) return;
    reported = true;
    logger.warn({ detail: err.message }, 'lockout: Redis unreachable; the lockout fails open until it answers');
  });
  if (!(await redis.connect(3000))) logger.error('lockout: Redis did not answer at start-up; the lockout fails open until it does');
  return redis;
}

export async function createLockout(parts: { config: Config; store: Store; cache: CredentialCache; directory: ClientDirectory; logger: Logger }): Promise<Lockout | undefined> {
  const { config, logger } = parts;
  if (!config.lockout) return undefined;
  const counters = await openLockoutCounters(config, parts.store, logger);
  const lockout = new Lockout(counters, parts.cache, parts.directory, lockoutSettings(config), {
    // Counters in the store wait no longer for it than a client read does.
    ...(config.redisUrl ? {} : { counterTimeoutMs: DEFAULT_STORE_WAIT_MS }),
    onCounterError: (err) => logger.warn({ detail: err.message }, 'lockout: cannot read or write the counters; failing open (attempts are verified as usual)'),
  });
  lockout.onLockout((e) =>
    logger.warn(
      { address: e.address, client_id: e.clientId?.slice(0, 128), locked_until: e.lockedUntil.toISOString(), lock_seconds: e.lockSeconds },
      e.clientId === undefined ? 'lockout: address locked' : 'lockout: client id locked for this address',
    ),
  );
  if (!config.redisUrl) lockout.startPruning();
  return lockout;
}

/** The two lockout points of client authentication (protocol/client-authentication.ts), or none. */
export function lockoutDeps(lockout: Lockout | undefined): Pick<ClientAuthenticationDeps, 'admitAttempt' | 'authenticationFailed'> {
  if (!lockout) return {};
  return { admitAttempt: (attempt) => lockout.admit(attempt), authenticationFailed: (attempt) => lockout.failed(attempt) };
}
