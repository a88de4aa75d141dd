import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import type { DestinationStream, Logger } from 'pino';
import { createApp, createLogger, openServices } from '../app.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { hashConcurrency, threadPoolSize } from '../config/thread-pool.js';
import { joinNodeMetrics, serveNodeMetrics } from '../cluster/metrics-ipc.js';
import { defaultWorkers } from '../cluster/default-workers.js';
import { superviseWorkers, type ListeningMessage } from '../cluster/supervisor.js';
import { distributeTicketKeys } from '../tls/ticket-keys.js';
import { configFrom, type GlobalOptions } from './context.js';
import { logDestination } from './log-stream.js';
import { nextLevelOnSignal, relayLogLevel, type LogLevel } from '../cluster/log-level.js';
import { tlsServerOptions } from '../tls/server-options.js';

const noClientHint = (origin: string, config: Config) =>
  `d1-authz is serving on ${origin}${config.basePath}/oauth2/token but has no client yet. Create one:\n` +
  `  npx d1-authz client create is_tbank01 --scopes "consumer otp"\n`;

export function serveCommand(globals: () => GlobalOptions): Command {
  return new Command('serve')
    .description('serve the token endpoint, JWKS, metadata, health and metrics')
    .option('--host <host>', 'listen address (D1AUTHZ_HOST)')
    .option('--port <port>', 'listen port (D1AUTHZ_PORT)')
    .option('--issuer <url>', 'iss of the tokens (D1AUTHZ_ISSUER)')
    .option('--base-path <path>', 'path prefix (D1AUTHZ_BASE_PATH)')
    .option('--log-level <level>', 'D1AUTHZ_LOG_LEVEL')
    .option('--workers <n>', 'processes sharing the port (D1AUTHZ_WORKERS); default: a single process up to 2 CPUs, one per CPU beyond; 1: a single process')
    .option('--json', 'log JSON lines even on a terminal (they are JSON whenever stdout is not one)')
    .action(async ({ json, ...o }: Partial<ConfigInput> & { json?: boolean }) => {
      const config = configFrom(globals(), o);
      const logStream = logDestination(1, { json });
      if (cluster.isWorker) return serveInThisProcess(config, true, logStream);
      const workers = config.workers ?? defaultWorkers(availableParallelism());
      if (workers <= 1) return serveInThisProcess(config, false, logStream);
      return servePrimary(config, workers, logStream);
    });
}

/** One process serving HTTP: the whole server (--workers 1), or one cluster worker. */
async function serveInThisProcess(config: Config, isWorker: boolean, logStream: DestinationStream): Promise<void> {
  if (isWorker) joinNodeMetrics();
  const app = await createApp(config, { logStream });
  // The workers share one stdout: the pid tells whose line (a request, a warning) it is.
  if (isWorker) for (const logger of [app.logger, app.http.log, app.admin?.log]) (logger as Logger | undefined)?.setBindings({ pid: process.pid });
  // Before listening: a SIGTERM that arrives as soon as the port answers must drain, not kill.
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.logger.info({ signal }, 'draining in-flight requests, then exiting');
    // close() ends the connections idle at that moment; a keep-alive connection whose request was
    // in flight would otherwise stay open (and the process up) until its keep-alive timeout, 65 s.
    setInterval(() => app.http.server.closeIdleConnections(), 100).unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (!isWorker) process.on('SIGUSR2', () => switchLogLevel(app.logger, (level) => app.logLevel.set(level), app.logLevel.get(), config));
  // The primary is gone (killed): no connection reaches this worker any more.
  if (isWorker) process.on('disconnect', () => shutdown('primary gone'));
  const origin = await app.listen();
  if (isWorker) {
    process.send?.({ d1authz: 'listening', origin } satisfies ListeningMessage);
  } else {
    app.logger.info({ origin, issuer: config.issuer, workers: 1, ...threadPool(config) }, 'd1-authz listening');
    if ((await app.clients.list()).length === 0) process.stderr.write(noClientHint(origin, config));
  }
}

/**
 * The cluster primary serves nothing itself. Before forking it does, once, what must not happen
 * N times at once: generating the embedded store's master key file, migrating the embedded store,
 * creating the first signing key. The workers then find all three in place.
 */
async function servePrimary(config: Config, workers: number, logStream: DestinationStream): Promise<void> {
  const logger = createLogger(config, logStream);
  // TLS files are checked once here (a bad file stops start-up before any fork); each worker
  // watches them itself, and SIGHUP is passed on to the workers, which reload (src/tls).
  if (config.tlsCert) {
    tlsServerOptions(config);
    process.on('SIGHUP', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
    });
  }
  const services = await openServices(config, logger);
  let hasClients: boolean;
  try {
    const kid = await services.keys.ensureKey();
    if (kid) logger.info({ kid }, 'created the first signing key');
    hasClients = (await services.clients.list()).length > 0;
  } finally {
    await services.close();
  }
  if (config.metrics) serveNodeMetrics();
  // One set of TLS session ticket keys for every worker, so a returning client resumes on any of them.
  const tickets = config.tlsCert ? distributeTicketKeys(config.tlsTicketKeyRotation * 1000) : undefined;
  const supervisor = superviseWorkers({
    workers,
    logger,
    ...(tickets ? { onWorkerListening: (worker: Worker) => tickets.sendTo(worker) } : {}),
    onListening: (origin) => {
      logger.info({ origin, issuer: config.issuer, workers, ...threadPool(config) }, 'd1-authz listening');
      if (!hasClients) process.stderr.write(noClientHint(origin, config));
    },
  });
  process.on('SIGTERM', () => supervisor.stop('SIGTERM'));
  process.on('SIGINT', () => supervisor.stop('SIGINT'));
  const setLevel = relayLogLevel(logger);
  process.on('SIGUSR2', () => switchLogLevel(logger, setLevel, logger.level, config));
  const code = await supervisor.done;
  tickets?.stop();
  logger.info({ code }, 'all workers stopped');
  logger.flush(() => process.exit(code));
}

/** SIGUSR2: the configured level <-> debug, on every process of the node. */
function switchLogLevel(logger: Logger, set: (level: LogLevel) => void, current: string, config: Config): void {
  const level = nextLevelOnSignal(current, config.logLevel);
  set(level);
  logger.warn({ level, signal: 'SIGUSR2' }, 'log level changed');
}

/** Per process (each worker has its own pool). */
const threadPool = (config: Config) => ({ uv_threadpool_size: threadPoolSize(), hash_concurrency: hashConcurrency(config) });
