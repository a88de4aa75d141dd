/**
 * `serve --workers N`: the primary process forks N workers (node:cluster) that share the listening
 * port, replaces a worker that dies, and stops them all on request.
 *
 * - Restarts back off per worker slot (restartDelayMs): a worker that keeps crashing is restarted
 *   after 0.25 s, 0.5 s, 1 s ... up to 30 s, and the count starts again once a worker has run
 *   STABLE_MS. A crash loop therefore costs at most a fork every 30 s per slot, not a busy loop.
 * - A worker that dies before any worker has ever listened (a bad port, an unreachable store at
 *   start) stops the whole server with exit code 1: nothing is serving and retrying would only hide
 *   the error from whoever started it.
 * - stop(): SIGTERM to every worker (each drains its in-flight requests, then exits 0); the
 *   returned code is 0 when every worker exited cleanly. Workers still alive after
 *   shutdownTimeoutMs are killed and the code is 1.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

export const RESTART_BASE_MS = 250;
export const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying had been fine: its slot's backoff starts again. */
export const STABLE_MS = 30_000;

/** Delay before the n-th consecutive restart of a slot (n >= 1). */
export function restartDelayMs(consecutiveFailures: number): number {
  return Math.min(RESTART_BASE_MS * 2 ** Math.max(0, consecutiveFailures - 1), RESTART_MAX_MS);
}

/** What a worker tells the primary once its server listens. */
export interface ListeningMessage {
  readonly d1authz: 'listening';
  readonly origin: string;
}

export const isListeningMessage = (m: unknown): m is ListeningMessage =>
  typeof m === 'object' && m !== null && (m as ListeningMessage).d1authz === 'listening' && typeof (m as ListeningMessage).origin === 'string';

export interface SupervisorOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** Called once, when every worker has listened (the server is fully up). */
  readonly onListening?: (origin: string) => void;
  /** Called each time a worker listens, a replacement too (it is sent what the primary holds for every worker). */
  readonly onWorkerListening?: (worker: Worker) => void;
  readonly shutdownTimeoutMs?: number;
}

export interface Supervisor {
  /** Resolves with the process exit code once every worker is gone after stop() (or a failed start). */
  readonly done: Promise<number>;
  stop(reason: string): void;
}

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  startedAt: number;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

export function superviseWorkers(options: SupervisorOptions): Supervisor {
  const { logger } = options;
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({ index, worker: undefined, startedAt: 0, failures: 0, timer: undefined }));
  let anyListening = false;
  const listened = new Set<number>();
  let stopping = false;
  let exitCode = 0;
  let forceTimer: NodeJS.Timeout | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const finishIfIdle = () => {
    if (!stopping || slots.some((s) => s.worker)) return;
    clearTimeout(forceTimer);
    resolveDone(exitCode);
  };

  const fork = (slot: Slot) => {
    slot.timer = undefined;
    const worker = cluster.fork();
    slot.worker = worker;
    slot.startedAt = Date.now();
    const pid = worker.process.pid;
    logger.info({ worker: slot.index, workerPid: pid }, 'worker started');
    worker.on('message', (message: unknown) => {
      if (!isListeningMessage(message)) return;
      logger.info({ worker: slot.index, workerPid: pid }, 'worker listening');
      anyListening = true;
      options.onWorkerListening?.(worker);
      if (listened.size < slots.length) {
        listened.add(slot.index);
        if (listened.size === slots.length) options.onListening?.(message.origin);
      }
    });
    // An IPC error (the worker gone mid-send) must not become an uncaught exception in the primary.
    worker.on('error', (err) => logger.warn({ worker: slot.index, workerPid: pid, detail: err.message }, 'worker channel error'));
    worker.on('exit', (code, signal) => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      if (stopping) {
        if (code !== 0 && signal !== 'SIGTERM') exitCode = 1;
        finishIfIdle();
        return;
      }
      if (!anyListening) {
        logger.error({ worker: slot.index, workerPid: pid, code, signal }, 'a worker failed to start; stopping');
        exitCode = 1;
        stop('start-up failure');
        return;
      }
      slot.failures = Date.now() - slot.startedAt >= STABLE_MS ? 1 : slot.failures + 1;
      const delay = restartDelayMs(slot.failures);
      logger.error({ worker: slot.index, workerPid: pid, code, signal, restartInMs: delay }, 'worker exited unexpectedly; starting a new one');
      slot.timer = setTimeout(() => fork(slot), delay);
    });
  };

  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, workers: slots.filter((s) => s.worker).length }, 'stopping workers: each drains its in-flight requests');
    for (const slot of slots) {
      clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.worker?.process.kill('SIGTERM');
    }
    forceTimer = setTimeout(() => {
      for (const slot of slots) {
        if (!slot.worker) continue;
        logger.error({ worker: slot.index, workerPid: slot.worker.process.pid }, 'worker did not stop in time; killing it');
        slot.worker.process.kill('SIGKILL');
      }
      exitCode = 1;
    }, options.shutdownTimeoutMs ?? 30_000);
    forceTimer.unref();
    finishIfIdle();
  };

  for (const slot of slots) fork(slot);
  return { done, stop };
}
