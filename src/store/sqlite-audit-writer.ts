/**
 * Writes batches of audit rows into a SQLite store from a worker thread of its own, so that the
 * inserts (a few microseconds a row, plus the commit's fsync) never run on the event loop that answers
 * token requests. better-sqlite3 is synchronous: on the server's connection every batch stopped the
 * loop for as long as it took. PostgreSQL needs none of this: its driver already waits off the loop.
 *
 * The thread is started at the first batch and again after it fails (a batch in flight then is
 * rejected, and the audit trail keeps it for the next try). It does not keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import type { PackedAuditRows } from './packed-audit-rows.js';
import type { AuditBatchAnswer, AuditBatchMessage, AuditWorkerData } from './sqlite-audit-protocol.js';

interface Pending {
  readonly worker: Worker;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** The thread holds one batch at a time: a small heap keeps its share of the server's memory small. */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 48 };

/**
 * Built, the worker is the .js beside this file. Run from the TypeScript sources (the tests, under
 * tsx), a worker thread does not inherit tsx's loader on Node 20: it registers tsx, then loads the .ts.
 */
function startWorker(workerData: AuditWorkerData): Worker {
  const resourceLimits = RESOURCE_LIMITS;
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sqlite-audit-worker.js', import.meta.url), { workerData, resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sqlite-audit-worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, { eval: true, workerData, resourceLimits });
}

export class SqliteAuditWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly inFlight = new Set<Promise<void>>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly path: string) {}

  insert(batch: PackedAuditRows): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the audit writer is closed'));
    if (batch.count === 0) return Promise.resolve();
    // A copy of its own: the trail keeps the batch for a retry, the thread gets the copy's memory.
    const message: AuditBatchMessage = { id: this.nextId++, bytes: batch.bytes() };
    const worker = this.thread();
    const written = new Promise<void>((resolve, reject) => {
      this.pending.set(message.id, { worker, resolve, reject });
      worker.postMessage(message, [message.bytes.buffer as ArrayBuffer]);
    });
    const tracked = written.then(
      () => void this.inFlight.delete(tracked),
      () => void this.inFlight.delete(tracked),
    );
    this.inFlight.add(tracked);
    return written;
  }

  /** Waits for the batches in flight, then stops the thread. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.inFlight]);
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private settle(id: number, error: Error | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (error) p.reject(error);
    else p.resolve();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const data: AuditWorkerData = { path: this.path };
    const worker = startWorker(data);
    worker.unref();
    worker.on('message', (answer: AuditBatchAnswer) => this.settle(answer.id, answer.error === undefined ? undefined : new Error(answer.error)));
    // A thread lost fails the batches it held, and only those; the next batch starts a new one.
    const lost = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of [...this.pending]) if (p.worker === worker) this.settle(id, err);
    };
    worker.on('error', (err) => lost(err));
    worker.on('exit', (code) => lost(new Error(`the audit writer thread exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
