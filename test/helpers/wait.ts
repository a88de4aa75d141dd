/** Waiting in tests: a plain delay, and one poller that the others are built on. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `everyMs` until it returns a value other than undefined/false; throws after
 * `timeoutMs`, naming `what` and the probe's last error (a probe may throw while the thing is not up yet).
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/** Polls `check` until it returns true; resolves with the elapsed ms (a propagation delay), rejects after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 20): Promise<number> {
  const start = performance.now();
  await waitFor('the condition', async () => (await check()) || undefined, timeoutMs, stepMs);
  return performance.now() - start;
}

/** Whether `condition` holds within `boundMs` (polled every 50 ms): false rather than a throw, for tests that assert on it. */
export async function holdsWithin(condition: () => boolean, boundMs: number): Promise<boolean> {
  return waitFor('the condition', () => condition() || undefined, boundMs, 50).then(
    () => true,
    () => false,
  );
}
