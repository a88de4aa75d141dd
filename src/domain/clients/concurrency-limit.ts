/**
 * At most `limit` calls of an async function run at once; the others wait in arrival order.
 * Used to keep scrypt from taking every thread of libuv's pool: token signing and log writes run
 * there too, and must not queue behind a flood of slow hashes.
 */
export function limitConcurrency<A extends unknown[], R>(fn: (...args: A) => Promise<R>, limit: number): (...args: A) => Promise<R> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
  return async (...args: A): Promise<R> => {
    if (running < limit) running++;
    // The slot is handed over by release(): `running` stays the same when a waiter takes it.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn(...args);
    } finally {
      release();
    }
  };
}
