/** Gauges and counters of load shedding and connection caps, read at scrape time only (nothing on the request path). */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionRefusal } from '../transport/connection-caps.js';
import type { LoadShedder } from './load-shedder.js';

export interface LoadMetrics {
  connectionRefused(reason: ConnectionRefusal): void;
}

export function registerLoadMetrics(registry: Registry, shedder: LoadShedder, openConnections: () => number): LoadMetrics {
  new Gauge({
    name: 'd1authz_requests_in_flight',
    help: 'Requests in progress in this process (past D1AUTHZ_MAX_IN_FLIGHT they are answered 503)',
    registers: [registry],
    collect() {
      this.set(shedder.inFlight());
    },
  });
  new Counter({
    name: 'd1authz_requests_shed_total',
    help: 'Requests answered 503 at once because D1AUTHZ_MAX_IN_FLIGHT requests were in progress',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(shedder.shedTotal());
    },
  });
  new Gauge({
    name: 'd1authz_connections_open',
    help: 'Client connections open in this process',
    registers: [registry],
    collect() {
      this.set(openConnections());
    },
  });
  const refused = new Counter({
    name: 'd1authz_connections_refused_total',
    help: 'Connections closed at once by D1AUTHZ_MAX_CONNECTIONS or D1AUTHZ_MAX_CONNECTIONS_PER_ADDRESS',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const children = { max_connections: refused.labels('max_connections'), max_connections_per_address: refused.labels('max_connections_per_address') };
  return { connectionRefused: (reason) => children[reason].inc() };
}
