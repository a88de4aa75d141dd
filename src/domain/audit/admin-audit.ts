/**
 * Audit of admin changes (client and key administration): the row is made inside the change's
 * transaction, from the record before and after it, and logged only once the change committed.
 */
import type { AuditOfChange, ClientRecord } from '../../store/client-repository.js';
import type { NewAuditRow } from '../../store/audit-repository.js';
import { clientSnapshot, toAuditRow, type AuditEvent, type AuditEventType } from './audit-event.js';

export interface AdminAuditLog {
  /** Who makes the changes: `os:<user>` for the CLI, or an admin identity. */
  readonly actor: string;
  /** The log line of an event committed with its change. */
  readonly logged: (event: AuditEvent, at: number) => void;
}

/** A client record as the audit trail shows it: every field, and of its secrets only when they were made and end. */
export function recordSnapshot(record: ClientRecord | undefined): Record<string, unknown> | null {
  if (!record) return null;
  return {
    ...clientSnapshot(record.client),
    secrets: record.secrets.map((s) => ({
      created_at: new Date(s.createdAt).toISOString(),
      expires_at: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
    })),
  };
}

export interface PendingAudit {
  /** For the repository: builds the row inside the transaction. */
  readonly row: AuditOfChange;
  /** After commit: writes the log line of the committed event. */
  committed(): void;
}

export function clientChange(log: AdminAuditLog | undefined, type: AuditEventType, clientId: string, at: number, details: Record<string, unknown> = {}): PendingAudit | undefined {
  if (!log) return undefined;
  let event: AuditEvent | undefined;
  return {
    row: (before, after) => {
      event = { type, actor: log.actor, clientId, details: { ...details, before: recordSnapshot(before), after: recordSnapshot(after) } };
      return toAuditRow(event, at);
    },
    committed: () => {
      if (event) log.logged(event, at);
    },
  };
}

/** A key event (no client): the row for the repository's transaction and its log line after commit. */
export function keyChange(log: AdminAuditLog | undefined, type: AuditEventType, at: number, details: Record<string, unknown>): { row: NewAuditRow; committed(): void } | undefined {
  if (!log) return undefined;
  const event: AuditEvent = { type, actor: log.actor, details };
  return { row: toAuditRow(event, at), committed: () => log.logged(event, at) };
}
