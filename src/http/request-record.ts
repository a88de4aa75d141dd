/**
 * The one log line and the metric sample of a request, whichever way it was served (a Fastify route or
 * the token listener). Headers and bodies are never logged: they hold secrets. A token's line is also
 * its `token.issued` audit event: one line per token, not two.
 */
import type { Metrics } from './metrics.js';

import type { AuditEvent } from '../domain/audit/audit-event.js';

export interface RequestRecord {
  readonly method: string;
  /** The route pattern, or 'unmatched'. */
  readonly route: string;
  readonly status: number;
  readonly ms: number;
  /** The authenticated client, when there is one. */
  readonly clientId: string | undefined;
  /** 'issued', an OAuth error code, or undefined for other routes. */
  readonly outcome: string | undefined;
  /** The private detail of a failure: logged, never sent. */
  readonly detail: string | undefined;
  /** The socket's peer, and the address a trusted proxy forwarded (when the peer is one). */
  readonly address?: string | undefined;
  readonly forwardedFor?: string | undefined;
  /** The request's audit event (a token issued): on this line, with the fields of its audit row. */
  readonly audit?: AuditEvent | undefined;
}

export interface RequestLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** `log` carries the request's correlation id as a binding. */
export function recordRequest(log: RequestLogger, metrics: Metrics | undefined, r: RequestRecord): void {
  const line = {
    method: r.method,
    route: r.route,
    status: r.status,
    ms: Math.round(r.ms * 100) / 100,
    client_id: r.clientId,
    outcome: r.outcome,
    detail: r.detail,
    address: r.address,
    forwarded_for: r.forwardedFor,
    audit: r.audit?.type,
    actor: r.audit?.actor,
    details: r.audit?.details,
  };
  // 503 is load shedding or a store outage, already logged where it is decided; any other 5xx is a bug.
  if (r.status >= 500 && r.status !== 503) log.error(line, 'request');
  else log.info(line, 'request');
  metrics?.observe(r.route, r.status, r.ms, r.outcome);
}
