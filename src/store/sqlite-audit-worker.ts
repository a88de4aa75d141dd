/**
 * The worker thread that writes audit batches into a SQLite store (sqlite-audit-writer.ts starts it).
 * Its own connection to the same file: WAL lets it append while the server's connection reads and
 * writes; a batch is one transaction of one prepared insert per row, committed with synchronous=FULL
 * like every other write of the store. Only this thread writes audit rows of requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import type { AuditBatchAnswer, AuditBatchMessage, AuditWorkerData } from './sqlite-audit-protocol.js';
import { forEachAuditRow } from './packed-audit-rows.js';

const { path } = workerData as AuditWorkerData;
const port = parentPort!;
const database = new SQLite(path, { fileMustExist: true });
database.pragma('busy_timeout = 5000');
database.pragma('synchronous = FULL');
// It only appends: a small page cache keeps the thread's memory small.
database.pragma('cache_size = -2000');
// Bound by position: binding by name costs measurably more per row.
const insert = database.prepare('insert into audit_events (at, type, actor, client_id, address, correlation_id, details) values (?, ?, ?, ?, ?, ?, ?)');
const insertAll = database.transaction((bytes: Uint8Array) => {
  forEachAuditRow(bytes, (r) => insert.run(r.at, r.type, r.actor, r.client_id, r.address, r.correlation_id, r.details));
});

port.on('message', ({ id, bytes }: AuditBatchMessage) => {
  let answer: AuditBatchAnswer;
  try {
    insertAll(bytes);
    answer = { id };
  } catch (err) {
    answer = { id, error: (err as Error).message };
  }
  port.postMessage(answer);
});
