/**
 * Where lockout counters live, shared by every worker and node: the store (./lockout-repository.ts)
 * or Redis (./redis-lockout-counters.ts). Both apply model/lockout-policy.ts atomically,
 * one round trip per failure; nothing is written when an authentication succeeds.
 */
import type { CounterState, LockoutSettings } from '../model/lockout-policy.js';

export interface CounterKey {
  /** The unique key: `a <address>` or `c <address> <client id>`. */
  readonly key: string;
  readonly address: string;
  /** Absent for the address's own counter. */
  readonly clientId?: string;
}

export interface CounterRow extends CounterState {
  readonly key: string;
  readonly address: string;
  readonly clientId: string | null;
  readonly lastFailureAt: number;
}

export interface LockoutCounters {
  /** One failure on each key at `now`; the states after it, in the order of `keys`. */
  recordFailure(keys: readonly CounterKey[], now: number, settings: LockoutSettings): Promise<CounterState[]>;
  /** lockedUntil of each key (0 when it has none), in the order of `keys`. */
  lockedUntil(keys: readonly string[]): Promise<number[]>;
  /** Every counter that still matters at `now` (locked, or failures within the window). */
  list(now: number, settings: LockoutSettings): Promise<CounterRow[]>;
  /** Drops every counter of this address or this client id; returns how many. */
  clear(addressOrClientId: string): Promise<number>;
  /** Distinct addresses with a lock running at `now`. */
  lockedAddresses(now: number): Promise<number>;
  /** Forgets counters whose last failure is older than `before`, a batch at a time. */
  prune(before: number): Promise<number>;
  close(): Promise<void>;
}

export const addressCounterKey = (address: string): CounterKey => ({ key: `a ${address}`, address });
export const clientCounterKey = (address: string, clientId: string): CounterKey => ({ key: `c ${address} ${clientId}`, address, clientId });
