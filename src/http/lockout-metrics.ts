/** The lockout's metrics, on the app's registry: locks engaged, and addresses locked now. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LockoutEvent } from '../domain/lockout/lockout.js';

export interface LockoutMetricsSource {
  onLockout(listener: (event: LockoutEvent) => void): void;
  lockedAddresses(): Promise<number>;
}

export function registerLockoutMetrics(registry: Registry, lockout: LockoutMetricsSource): void {
  const total = new Counter({
    name: 'd1authz_lockouts_total',
    help: 'Locks engaged or doubled by failed client authentications: scope address (every client from it) or client (one client id from it)',
    labelNames: ['scope'] as const,
    registers: [registry],
  });
  for (const scope of ['address', 'client']) total.labels(scope).inc(0);
  lockout.onLockout((event) => total.labels(event.clientId === undefined ? 'address' : 'client').inc());
  new Gauge({
    name: 'd1authz_lockout_addresses_locked',
    help: 'Source addresses with a lock running now, read from the shared counters (the same for every worker: merged by max)',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.set(await lockout.lockedAddresses());
    },
  });
}
