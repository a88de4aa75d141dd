/** The messages between the server and its SQLite audit writer thread. */
import type { AuditRow } from './audit-repository.js';

export interface AuditWorkerData {
  /** The SQLite file (already created and migrated by the server). */
  readonly path: string;
}

export interface AuditBatchMessage {
  readonly id: number;
  /** Every column but the id, nulls spelled out: the worker binds them by name. */
  readonly rows: readonly Omit<AuditRow, 'id'>[];
}

/** `error`: the batch was not written (the transaction rolled back). */
export interface AuditBatchAnswer {
  readonly id: number;
  readonly error?: string;
}
