/** The log line of an audit event: the same fields as its row, at warn for failures and lock-outs. */
import type { AuditEvent, AuditEventType } from './audit-event.js';

export interface AuditLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const WARN: ReadonlySet<AuditEventType> = new Set(['client.authentication_failed', 'client.locked_out']);

export function auditLogLine(logger: AuditLogger): (event: AuditEvent, at: number) => void {
  return (event, at) => {
    const line = {
      audit: event.type,
      at: new Date(at).toISOString(),
      actor: event.actor,
      client_id: event.clientId,
      address: event.address,
      correlation_id: event.correlationId,
      details: event.details,
    };
    if (WARN.has(event.type)) logger.warn(line, event.type);
    else logger.info(line, event.type);
  };
}
