/** Prometheus metrics on a registry of this app's own (several apps can live in one process, e.g. tests). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  private readonly duration = new Histogram({
    name: 'd1authz_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly tokenRequests = new Counter({
    name: 'd1authz_token_requests_total',
    help: 'Token requests by outcome: issued, or the OAuth error code',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  // prom-client hashes the label values on every labels() call; the set of (route, status) and
  // outcome pairs is small and fixed by the routes, so keep each child once (measured in bench/).
  private readonly durationChildren = new Map<string, Histogram.Internal<'route' | 'status'>>();
  private readonly outcomeChildren = new Map<string, Counter.Internal>();

  private readonly clientAuthFailures = new Counter({
    name: 'd1authz_client_auth_failures_total',
    help: 'Failed client authentications by client id: registered ids by name, every unknown id as "(unknown)"',
    labelNames: ['client_id'] as const,
    registers: [this.registry],
  });

  /** `hashesPending`, `audit`: read at scrape time only, so they cost the token path nothing. */
  constructor(
    readonly tokenRoute: string,
    hashesPending?: () => number,
    audit?: { readonly dropped: number; readonly pending: number },
    signingKeySince?: () => number | null,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'd1authz_' });
    if (hashesPending) {
      new Gauge({
        name: 'd1authz_secret_hashes_pending',
        help: 'Slow secret hash verifications running or queued (requests beyond D1AUTHZ_MAX_PENDING_HASHES get 503)',
        registers: [this.registry],
        collect() {
          this.set(hashesPending());
        },
      });
    }
    if (audit) {
      let reported = 0;
      new Counter({
        name: 'd1authz_audit_events_dropped_total',
        help: 'Audit events dropped because the buffer was full (the store did not take them for long)',
        registers: [this.registry],
        collect() {
          this.inc(audit.dropped - reported);
          reported = audit.dropped;
        },
      });
      new Gauge({
        name: 'd1authz_audit_events_pending',
        help: 'Audit events buffered, waiting for the next batch write',
        registers: [this.registry],
        collect() {
          this.set(audit.pending);
        },
      });
    }
    if (signingKeySince) {
      new Gauge({
        name: 'd1authz_signing_key_active_since_seconds',
        help: 'When the signing key began to sign (Unix time, s); 0 when no key signs. time() minus it is the key age',
        // Every worker has the same key: summed over --workers it would be N times the time.
        aggregator: 'max',
        registers: [this.registry],
        collect() {
          this.set((signingKeySince() ?? 0) / 1000);
        },
      });
    }
  }

  /** The label is a registered client id or the one unknown bucket (domain/audit/request-audit.ts). */
  clientAuthFailure(clientIdLabel: string): void {
    this.clientAuthFailures.labels(clientIdLabel).inc();
  }

  observe(route: string, status: number, ms: number, outcome: string | undefined): void {
    const key = `${status} ${route}`;
    let duration = this.durationChildren.get(key);
    if (!duration) this.durationChildren.set(key, (duration = this.duration.labels(route, String(status))));
    duration.observe(ms / 1000);
    if (route === this.tokenRoute && outcome !== undefined) {
      let counter = this.outcomeChildren.get(outcome);
      if (!counter) this.outcomeChildren.set(outcome, (counter = this.tokenRequests.labels(outcome)));
      counter.inc();
    }
  }
}
