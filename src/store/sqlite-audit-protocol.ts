/** The messages between the server and its SQLite audit writer thread. */
export interface AuditWorkerData {
  /** The SQLite file (already created and migrated by the server). */
  readonly path: string;
}

export interface AuditBatchMessage {
  readonly id: number;
  /** The batch's rows as PackedAuditRows writes them (unpackAuditRows reads them). */
  readonly bytes: Uint8Array;
}

/** `error`: the batch was not written (the transaction rolled back). */
export interface AuditBatchAnswer {
  readonly id: number;
  readonly error?: string;
}
