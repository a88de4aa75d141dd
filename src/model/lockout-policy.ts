/**
 * The lockout rule, in one place (the store's upsert and the Redis script apply the same steps
 * atomically; test/lockout pins them to this function):
 *  - failures are counted per key (a client id from an address, or the address alone) in a window
 *    that starts with the first failure and lasts `window`;
 *  - the failure that reaches the key's threshold within the window (`threshold` for a client id
 *    from an address, ADDRESS_FACTOR times that for the address across all client ids, so that one
 *    client id attacked does not lock every other client behind the same address) locks the key for the base time,
 *    window / threshold (the pace the threshold allows), at least one second;
 *  - the next failure after a lock ends, within `window` of that end, locks again for twice as
 *    long, up to `max`; a failure while locked changes nothing (it never reached a hash);
 *  - a window without failures after a lock ends forgives it: counting starts again.
 */
export interface LockoutSettings {
  readonly threshold: number;
  readonly windowMs: number;
  readonly maxMs: number;
}

export interface CounterState {
  readonly failures: number;
  readonly windowStart: number;
  /** Length of the current (or last) lock; 0: none to remember. */
  readonly lockMs: number;
  readonly lockedUntil: number;
}

/** An address alone locks after this many times the failures of one client id from it. */
export const ADDRESS_FACTOR = 5;

/** The threshold of a key: its client id's, or the address's own. */
export const thresholdOf = (s: LockoutSettings, key: { readonly clientId?: string | undefined }) => (key.clientId === undefined ? s.threshold * ADDRESS_FACTOR : s.threshold);

export function baseLockMs(s: LockoutSettings): number {
  return Math.min(s.maxMs, Math.max(1000, Math.ceil(s.windowMs / s.threshold / 1000) * 1000));
}

/** The state after one more failure at `now`. */
export function afterFailure(state: CounterState | undefined, now: number, s: LockoutSettings, threshold: number): CounterState {
  const base = baseLockMs(s);
  if (!state) return threshold <= 1 ? { failures: 0, windowStart: now, lockMs: base, lockedUntil: now + base } : { failures: 1, windowStart: now, lockMs: 0, lockedUntil: 0 };
  if (state.lockedUntil > now) return state;
  if (state.lockMs > 0 && now <= state.lockedUntil + s.windowMs) {
    const lockMs = Math.min(state.lockMs * 2, s.maxMs);
    return { failures: 0, windowStart: now, lockMs, lockedUntil: now + lockMs };
  }
  const windowOver = now - state.windowStart > s.windowMs;
  const failures = (windowOver ? 0 : state.failures) + 1;
  if (failures >= threshold) return { failures: 0, windowStart: now, lockMs: base, lockedUntil: now + base };
  return { failures, windowStart: windowOver ? now : state.windowStart, lockMs: 0, lockedUntil: state.lockedUntil };
}

/** How long after its last failure a key's state can still matter: then it can be forgotten. */
export const retentionMs = (s: LockoutSettings) => s.windowMs + s.maxMs;
