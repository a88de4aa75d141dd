/**
 * libuv's thread pool, shared by token signing and slow secret hashes. Its size is fixed when the process
 * first uses it: UV_THREADPOOL_SIZE as the process started with it (cli/bin.cts sets 2 when unset),
 * else libuv's default of 4.
 */
import type { Config } from './schema.js';

const LIBUV_DEFAULT = 4;
const LIBUV_MAX = 1024;

export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env['UV_THREADPOOL_SIZE']);
  return Number.isInteger(n) && n > 0 ? Math.min(n, LIBUV_MAX) : LIBUV_DEFAULT;
}

/** D1AUTHZ_HASH_CONCURRENCY, or all of the pool's threads but one: signing always finds one free. */
export function hashConcurrency(config: Pick<Config, 'hashConcurrency'>, env: NodeJS.ProcessEnv = process.env): number {
  return config.hashConcurrency ?? Math.max(1, threadPoolSize(env) - 1);
}
