/**
 * The running log level, changed by the admin API or SIGUSR2. Under --workers the change goes
 * through the primary to every worker, so the node logs at one level whichever worker was asked.
 */
import cluster from 'node:cluster';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

interface LevelMessage {
  readonly d1authz: 'log-level';
  readonly level: LogLevel;
}

const isLevelMessage = (m: unknown): m is LevelMessage =>
  typeof m === 'object' && m !== null && (m as LevelMessage).d1authz === 'log-level' && LOG_LEVELS.includes((m as LevelMessage).level);

export interface LevelTarget {
  level: string;
}

export interface LogLevelControl {
  get(): string;
  set(level: LogLevel): void;
}

/** In a single process or a worker: sets `targets` (the app's loggers); a worker also tells the primary. */
export function logLevelControl(targets: readonly LevelTarget[]): LogLevelControl {
  const apply = (level: LogLevel) => {
    for (const t of targets) t.level = level;
  };
  if (cluster.isWorker) {
    process.on('message', (m: unknown) => {
      if (isLevelMessage(m)) apply(m.level);
    });
  }
  return {
    get: () => targets[0]?.level ?? 'info',
    set(level) {
      apply(level);
      if (cluster.isWorker) process.send?.({ d1authz: 'log-level', level } satisfies LevelMessage);
    },
  };
}

/** In the primary: passes a worker's change on to every worker, and sets its own logger too. */
export function relayLogLevel(primary: LevelTarget): (level: LogLevel) => void {
  const broadcast = (level: LogLevel) => {
    primary.level = level;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.send({ d1authz: 'log-level', level } satisfies LevelMessage);
  };
  cluster.on('message', (_worker, m: unknown) => {
    if (isLevelMessage(m)) broadcast(m.level);
  });
  return broadcast;
}

/** SIGUSR2 toggles between the configured level and debug (and back), for a look without a restart. */
export function nextLevelOnSignal(current: string, configured: string): LogLevel {
  return (current === 'debug' ? configured : 'debug') as LogLevel;
}
