#!/usr/bin/env node
/**
 * The `d1-authz` command. CommonJS, with no import before the size is chosen, on purpose: it runs
 * before Node's ESM loader first uses libuv's thread pool, the last moment that pool's size can be set.
 *
 * Tokens are signed on that pool (domain/tokens/jwt-signer.ts). Its default of 4 threads is more than
 * signing needs (one thread signs ~35,000 ES256 tokens/s, the event loop serves ~18,000) and, on a
 * machine whose cores are busy, extra runnable threads only preempt the event loop: on 2 cores, 2 threads
 * gave 17,800 tokens/s against 14,800 with 4 (docs/performance.md). Slow secret hashes share the pool
 * and may take all threads but one (D1AUTHZ_HASH_CONCURRENCY). An operator's UV_THREADPOOL_SIZE wins.
 */
const DEFAULT_THREAD_POOL_SIZE = '2';
if (!process.env['UV_THREADPOOL_SIZE']) process.env['UV_THREADPOOL_SIZE'] = DEFAULT_THREAD_POOL_SIZE;
void import('./main.js');
