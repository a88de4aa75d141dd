/**
 * The composition root: config in, a running token server out. The only file that knows
 * every part; each part knows only the interfaces it is handed.
 */
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { ClientAuthenticator } from './domain/clients/client-authenticator.js';
import { ClientDirectory } from './domain/clients/client-directory.js';
import { ClientService } from './domain/clients/client-service.js';
import { CredentialCache } from './domain/clients/credential-cache.js';
import { KeyRing } from './domain/keys/key-ring.js';
import { KeyService } from './domain/keys/key-service.js';
import type { KeyProviders } from './domain/keys/key-providers.js';
import { openKeyProviders } from './domain/keys/open-key-providers.js';
import { ChangeFeed } from './domain/sync/change-feed.js';
import { TokenIssuer } from './domain/tokens/token-issuer.js';
import { buildHttpServer, tokenPathOf } from './http/server.js';
import { Metrics } from './http/metrics.js';
import { buildAdminServer } from './admin/admin-server.js';
import { AdminTokenService } from './domain/admin/admin-tokens.js';
import { AdminTokenRepository } from './store/admin-token-repository.js';
import { logLevelControl, type LogLevelControl } from './cluster/log-level.js';
import { REDACTED_PATHS } from './log-redaction.js';
import type { ServerTimeouts } from './transport/server-timeouts.js';
import { ChangeRepository } from './store/change-repository.js';
import { ClientRepository } from './store/client-repository.js';
import { openStore, type Store } from './store/database.js';
import { KeyRepository } from './store/key-repository.js';
import { ensureSchema } from './store/migrations.js';
import { warnIfInsecureHttp } from './tls/policy.js';
import { logSettingWarnings } from './config/warnings.js';
import { hashConcurrency, threadPoolSize } from './config/thread-pool.js';
import { tlsServerOptions, watchTlsFiles, type TlsWatcher } from './tls/server-options.js';
import { manageTicketKeys } from './tls/ticket-keys.js';
import { createTokenStatus, type TokenStatus } from './token-status.js';
import { userInfo } from 'node:os';
import { auditLogLine } from './domain/audit/audit-log.js';
import { presentedClientId, type AuditEvent } from './domain/audit/audit-event.js';
import { AuditTrail, type AuditStore } from './domain/audit/audit-trail.js';
import { RequestAudit, type AuthenticationFailure } from './domain/audit/request-audit.js';
import { StoreUnavailableError } from './domain/clients/client-directory.js';
import { AuditRepository } from './store/audit-repository.js';
import { SqliteAuditWriter } from './store/sqlite-audit-writer.js';
import { sqlitePath } from './store/sqlite-path.js';

/** Batches of token events, written off the request's path; retention pruned by every node (idempotent). */
/**
 * The rows go through a writer thread on SQLite (its inserts would otherwise run on the event loop:
 * better-sqlite3 is synchronous), straight through the pool on PostgreSQL. Pruning is rare: the repository.
 */
function auditStore(repo: AuditRepository, config: Config): { store: AuditStore; close: () => Promise<void> } {
  const path = sqlitePath(config.databaseUrl);
  const prune = (before: number, maxRows: number) => repo.prune(before, maxRows);
  if (path === null || path === ':memory:') return { store: { insert: (batch) => repo.insert(batch.rows()), prune }, close: async () => {} };
  const writer = new SqliteAuditWriter(path);
  return { store: { insert: (batch) => writer.insert(batch), prune }, close: () => writer.close() };
}

function startAuditTrail(store: AuditStore, config: Config, logger: Logger, log: (event: AuditEvent, at: number) => void): AuditTrail {
  const trail = new AuditTrail(store, {
    bufferSize: 50_000,
    flushIntervalMs: 1_000,
    batchSize: 500,
    retentionDays: config.auditRetentionDays,
    pruneIntervalMs: 3_600_000,
    pruneBatch: 1_000,
    log,
    onError: (err, what) => logger.warn({ detail: err.message }, `${what} failed; retrying`),
  });
  trail.start();
  return trail;
}
import type { Lockout } from './domain/lockout/lockout.js';
import { createLockout, lockoutDeps, lockoutSettings, openLockoutCounters } from './lockout.js';
import { auditRoutes } from './admin/routes/audit.js';
import { lockoutRoutes } from './admin/routes/lockouts.js';

export function createLogger(config: Pick<Config, 'logLevel'>, stream?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'd1-authz' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: nothing logs these, and if something ever does they are censored.
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    stream ?? pino.destination({ sync: false }),
  );
}

/** What the CLI needs: the store and the admin services, no HTTP. */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  /** Who holds the signing keys (D1AUTHZ_KEY_PROVIDER); only the local provider reads the master key. */
  readonly keyProviders: KeyProviders;
  readonly clients: ClientService;
  readonly keys: KeyService;
  readonly adminTokens: AdminTokenService;
  readonly repos: { clients: ClientRepository; keys: KeyRepository; changes: ChangeRepository; audit: AuditRepository; adminTokens: AdminTokenRepository };
  /** Admin changes are audited as this actor. */
  readonly actor: string;
  close(): Promise<void>;
}

/** Who makes admin changes from this process: the OS user (the CLI runs as the operator). */
export function osActor(): string {
  try {
    return `os:${userInfo().username}`;
  } catch {
    return `os:uid ${process.getuid?.() ?? 'unknown'}`;
  }
}

/**
 * `create` (serve): make the embedded store and its generated master key when they do not exist.
 * Without it (the admin commands) a missing store is an error: the command would otherwise write
 * into a fresh database that no server reads.
 */
export async function openServices(config: Config, logger: Logger, options: { create?: boolean; actor?: string } = {}): Promise<Services> {
  const create = options.create ?? true;
  const log = { warn: (msg: string) => logger.warn(msg), info: (msg: string) => logger.info(msg) };
  // Creating: the key custody is checked before anything is written. Not creating: the missing store is named first.
  let keyProviders = create ? openKeyProviders(config, log, { create, threadPoolSize: threadPoolSize() }) : undefined;
  const store = openStore(config.databaseUrl, { poolSize: config.databasePoolSize, create });
  try {
    keyProviders ??= openKeyProviders(config, log, { create, threadPoolSize: threadPoolSize() });
    await ensureSchema(store, (msg) => logger.info(msg));
  } catch (err) {
    await store.close();
    await keyProviders?.close();
    throw err;
  }
  const providers = keyProviders;
  const repos = {
    clients: new ClientRepository(store.db),
    keys: new KeyRepository(store.db),
    changes: new ChangeRepository(store.db),
    audit: new AuditRepository(store.db),
    adminTokens: new AdminTokenRepository(store.db),
  };
  const actor = options.actor ?? osActor();
  const adminAudit = { actor, logged: auditLogLine(logger) };
  return {
    config,
    logger,
    store,
    keyProviders: providers,
    repos,
    actor,
    clients: new ClientService(repos.clients, config, Date.now, adminAudit),
    keys: new KeyService(repos.keys, providers, config, Date.now, adminAudit),
    adminTokens: new AdminTokenService(repos.adminTokens, { scryptCost: config.scryptCost, cacheTtlMs: config.credentialCacheTtl * 1000 }),
    close: async () => {
      await store.close();
      await providers.close();
    },
  };
}

export interface App extends Services {
  readonly http: FastifyInstance;
  readonly keyRing: KeyRing;
  readonly directory: ClientDirectory;
  readonly feed: ChangeFeed;
  /** Certificate reloads (SIGHUP, file change) when serving TLS. */
  readonly tls: TlsWatcher | undefined;
  /** Introspection, revocation and the revocation feed. */
  readonly tokenStatus: TokenStatus;
  /** The admin and management listener; undefined with D1AUTHZ_ADMIN_PORT=0. */
  readonly admin: FastifyInstance | undefined;
  readonly logLevel: LogLevelControl;
  /** The batched audit trail of requests; undefined with D1AUTHZ_AUDIT=false. */
  readonly audit: AuditTrail | undefined;
  /** Brute-force lockout; undefined when D1AUTHZ_LOCKOUT=false. Its onLockout raises `client.locked_out`. */
  readonly lockout: Lockout | undefined;
  /** Listens on config.host:config.port (and the admin listener); returns the origin, e.g. http://127.0.0.1:8080 */
  listen(): Promise<string>;
  /** The admin listener's origin once listening, e.g. http://127.0.0.1:9090 */
  adminOrigin(): string | undefined;
}

/** Tokens are signed on libuv's thread pool, which scrypt shares: D1AUTHZ_HASH_CONCURRENCY must leave threads free. */
function warnIfHashesCanFillThreadPool(config: Config, logger: Logger): void {
  const poolSize = threadPoolSize();
  if (config.hashConcurrency !== undefined && config.hashConcurrency >= poolSize) {
    logger.warn(
      { hash_concurrency: config.hashConcurrency, uv_threadpool_size: poolSize },
      'D1AUTHZ_HASH_CONCURRENCY is not below UV_THREADPOOL_SIZE: during a flood of bad secrets, token signing waits behind slow hashes',
    );
  }
}

export interface CreateAppOptions {
  readonly logStream?: DestinationStream;
  /** Default SERVER_TIMEOUTS (docs/operations.md); tests pass small ones. */
  readonly timeouts?: ServerTimeouts;
}

export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<App> {
  const logger = createLogger(config, options.logStream);
  // TLS files are read (and checked) before anything is opened: a bad file stops start-up at once.
  const https = config.tlsCert ? tlsServerOptions(config) : undefined;
  warnIfInsecureHttp(config, logger);
  logSettingWarnings(config, logger);
  warnIfHashesCanFillThreadPool(config, logger);
  const services = await openServices(config, logger);
  const { repos } = services;

  const kid = await services.keys.ensureKey();
  if (kid) logger.info({ kid }, 'created the first signing key');
  const keyRing = new KeyRing(repos.keys, services.keyProviders);
  await keyRing.reload();

  const directory = new ClientDirectory(repos.clients, {
    ttlMs: config.clientCacheTtl * 1000,
    outageGraceMs: config.storeOutageGrace * 1000,
    // The feed confirms the id list on every poll; when it has not for a while (ten polls, at least 10 s: a
    // loaded store answers late without being down), an id outside the list is "cannot tell".
    idListMaxAgeMs: Math.max(10 * config.syncIntervalMs, 10_000),
  });
  services.clients.onChange((clientId) => directory.invalidate(clientId));
  const credentials = new CredentialCache(config.credentialCacheTtl * 1000, Date.now, config.credentialCacheMaxAge * 1000);
  directory.onInvalidate((clientId) => credentials.dropClient(clientId));
  const authenticator = await ClientAuthenticator.create(directory, credentials, { ...config, hashConcurrency: hashConcurrency(config) });
  const issuer = new TokenIssuer(keyRing, config);
  const logAudit = auditLogLine(logger);
  const auditRows = config.audit ? auditStore(services.repos.audit, config) : undefined;
  const audit = auditRows ? startAuditTrail(auditRows.store, config, logger, logAudit) : undefined;
  if (!config.audit) logger.warn('D1AUTHZ_AUDIT=false: tokens issued and failed authentications are not written to the audit trail');
  const metrics = config.metrics ? new Metrics(tokenPathOf(config), () => authenticator.hashesPending, audit, () => keyRing.signingSince()) : undefined;
  const requestAudit = new RequestAudit({
    sink: audit,
    write: audit && config.auditSync ? (event, log) => audit.write(event, log) : undefined,
    logOnly: (event) => logAudit(event, Date.now()),
    countFailure: (label) => metrics?.clientAuthFailure(label),
  });
  const onAuthenticationFailure = (failure: AuthenticationFailure) => requestAudit.authenticationFailed(failure);
  const lockout = await createLockout({ config, store: services.store, cache: credentials, directory, logger });
  // client.locked_out: stored with the request events (and logged), or only logged with D1AUTHZ_AUDIT=false.
  lockout?.onLockout((event) => {
    const record: AuditEvent = {
      type: 'client.locked_out',
      address: event.address,
      ...(event.clientId !== undefined ? { clientId: presentedClientId(event.clientId) } : {}),
      details: { scope: event.clientId === undefined ? 'address' : 'client', locked_until: event.lockedUntil.toISOString(), lock_seconds: event.lockSeconds },
    };
    if (audit) audit.record(record);
    else logAudit(record, Date.now());
  });
  const tokenStatus = await createTokenStatus({ config, store: services.store, keyRing, directory, authenticator, logger, auditLog: logAudit, onAuthenticationFailure, lockout });
  directory.beforeLoad(() => tokenStatus.sync());

  const feed = new ChangeFeed(
    repos.changes,
    config.syncIntervalMs,
    {
      client: (clientId) => directory.invalidate(clientId),
      synced: (at) => directory.confirmIds(at),
      revocation: () => tokenStatus.sync().catch((err: Error) => logger.warn({ detail: err.message }, 'cannot read revocations')),
      // A failed reload is retried on the next poll (and reported once through the error callback).
      key: () => keyRing.reload(),
    },
    (err) => logger.warn({ detail: err.message }, 'change feed: cannot read changes or reload keys; serving from cache, retrying'),
    { keyRefreshMs: config.clientCacheTtl * 1000 },
  );
  await feed.start();
  services.clients.onChange((_clientId, seq) => feed.appliedHere(seq));
  // After the feed's cursor is set: a client created in between is in the list or reported by the feed.
  await directory.loadIds().catch((err: Error) => logger.warn({ detail: err.message }, 'cannot read the client list; looking clients up one by one'));
  // A key change committed between the first load and the feed's cursor would be in neither: load again.
  await keyRing.reload();
  await tokenStatus.sync(); // the same for a revocation

  const readiness = {
    store: () => services.store.ping(),
    signing_key: () => keyRing.signer() !== null,
    ...(config.keyProvider === 'pkcs11' ? { hsm: () => services.keyProviders.ready() } : {}),
    // A key reload that fails (a key sealed with another master key) leaves this node without the next key.
    keys_loaded: () => keyRing.upToDate,
  };
  const http = buildHttpServer({
    config,
    logger,
    metrics,
    keyRing,
    tokenDeps: {
      authenticateClient: (c, source) => authenticator.authenticate(c, source),
      ...lockoutDeps(lockout),
      issueToken: async (client, scopes, confirmation, origin) => {
        const token = await issuer.issue(client, scopes, confirmation);
        const facts = { clientId: client.clientId, scopes, jti: token.jti, expiresAt: token.expiresAt, certificateThumbprint: confirmation?.['x5t#S256'] };
        // D1AUTHZ_AUDIT_SYNC=true: a row that cannot be written fails the request (503), no unaudited token leaves.
        await requestAudit.tokenIssued(facts, origin)?.catch((err: Error) => {
          throw new StoreUnavailableError(`cannot write the audit row of a token: ${err.message}`);
        });
        return token;
      },
      authenticateClientByCertificate: (clientId) => authenticator.authenticateByCertificate(clientId),
      onAuthenticationFailure,
      expiresInFormat: config.expiresInFormat,
      expiresAt: config.expiresAt,
    },
    tokenStatus: tokenStatus.deps,
    https,
    ...(lockout ? { lockout } : {}),
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    readiness,
  });
  const logLevel = logLevelControl([logger, http.log]);
  const admin =
    config.adminPort === 0
      ? undefined
      : buildAdminServer({
          config,
          logger,
          clients: services.clients,
          keys: services.keys,
          tokens: services.adminTokens,
          logLevel,
          readiness,
          extraRoutes: [
            auditRoutes(services.repos.audit, metrics),
            lockoutRoutes(() => openLockoutCounters(config, services.store, logger), lockoutSettings(config)),
          ],
          ...(metrics ? { metrics } : {}),
          ...(https ? { https: tlsServerOptions({ tlsCert: config.tlsCert, tlsKey: config.tlsKey, tlsClientCa: undefined }) } : {}),
        });
  let adminOrigin: string | undefined;
  const tickets = https ? manageTicketKeys(http.server as unknown as TlsServer, config.tlsTicketKeyRotation * 1000) : undefined;
  const tls = https ? watchTlsFiles(http.server as unknown as TlsServer, config, logger, { served: https, onReloaded: (digest) => tickets?.rekeyAfterReload(digest) }) : undefined;

  return {
    ...services,
    http,
    tls,
    keyRing,
    directory,
    feed,
    tokenStatus,
    admin,
    logLevel,
    audit,
    lockout,
    async listen() {
      const origin = await http.listen({ host: config.host, port: config.port });
      if (tickets) logger.info({ rotation_seconds: config.tlsTicketKeyRotation, shared_by_workers: cluster.isWorker }, 'TLS session tickets on: keys rotated every rotation_seconds');
      if (admin) adminOrigin = await admin.listen({ host: config.adminHost, port: config.adminPort });
      return origin;
    },
    adminOrigin: () => adminOrigin,
    async close() {
      feed.stop();
      tls?.close();
      tickets?.stop();
      tokenStatus.stop();
      await admin?.close();
      await http.close();
      // After the last request: every event of a served request is written before the store closes.
      await audit?.close();
      await auditRows?.close();
      await lockout?.close();
      await services.close();
      logger.flush();
    },
  };
}
