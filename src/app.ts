/**
 * The composition root: config in, a running token server out. The only file that knows
 * every part; each part knows only the interfaces it is handed.
 */
import type { FastifyInstance } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { ClientAuthenticator } from './domain/clients/client-authenticator.js';
import { ClientDirectory } from './domain/clients/client-directory.js';
import { ClientService } from './domain/clients/client-service.js';
import { CredentialCache } from './domain/clients/credential-cache.js';
import { KeyRing } from './domain/keys/key-ring.js';
import { KeyService } from './domain/keys/key-service.js';
import { loadMasterKey } from './domain/keys/master-key.js';
import { ChangeFeed } from './domain/sync/change-feed.js';
import { TokenIssuer } from './domain/tokens/token-issuer.js';
import { buildHttpServer } from './http/server.js';
import { ChangeRepository } from './store/change-repository.js';
import { ClientRepository } from './store/client-repository.js';
import { openStore, type Store } from './store/database.js';
import { KeyRepository } from './store/key-repository.js';
import { ensureSchema } from './store/migrations.js';

export function createLogger(config: Pick<Config, 'logLevel'>, stream?: DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'd1-authz' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: nothing logs these, and if something ever does they are censored.
      redact: { paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'client_secret', 'access_token', 'secret'], censor: '[redacted]' },
    },
    stream ?? pino.destination({ sync: false }),
  );
}

/** What the CLI needs: the store and the admin services, no HTTP. */
export interface Services {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly masterKey: Buffer;
  readonly clients: ClientService;
  readonly keys: KeyService;
  readonly repos: { clients: ClientRepository; keys: KeyRepository; changes: ChangeRepository };
  close(): Promise<void>;
}

export async function openServices(config: Config, logger: Logger): Promise<Services> {
  const masterKey = loadMasterKey(config, (msg) => logger.warn(msg));
  const store = openStore(config.databaseUrl);
  try {
    await ensureSchema(store, (msg) => logger.info(msg));
  } catch (err) {
    await store.close();
    throw err;
  }
  const repos = { clients: new ClientRepository(store.db), keys: new KeyRepository(store.db), changes: new ChangeRepository(store.db) };
  return {
    config,
    logger,
    store,
    masterKey,
    repos,
    clients: new ClientService(repos.clients, config),
    keys: new KeyService(repos.keys, masterKey, config),
    close: () => store.close(),
  };
}

export interface App extends Services {
  readonly http: FastifyInstance;
  readonly keyRing: KeyRing;
  readonly directory: ClientDirectory;
  readonly feed: ChangeFeed;
  /** Listens on config.host:config.port; returns the origin, e.g. http://127.0.0.1:8080 */
  listen(): Promise<string>;
}

export async function createApp(config: Config, options: { logStream?: DestinationStream } = {}): Promise<App> {
  const logger = createLogger(config, options.logStream);
  const services = await openServices(config, logger);
  const { repos } = services;

  const kid = await services.keys.ensureKey();
  if (kid) logger.info({ kid }, 'created the first signing key');
  const keyRing = new KeyRing(repos.keys, services.masterKey);
  await keyRing.reload();

  const directory = new ClientDirectory(repos.clients, { ttlMs: config.clientCacheTtl * 1000, outageGraceMs: config.storeOutageGrace * 1000 });
  const credentials = new CredentialCache(config.credentialCacheTtl * 1000);
  directory.onInvalidate((clientId) => credentials.dropClient(clientId));
  const authenticator = await ClientAuthenticator.create(directory, credentials, config);
  const issuer = new TokenIssuer(keyRing, config);

  const feed = new ChangeFeed(
    repos.changes,
    config.syncIntervalMs,
    {
      client: (clientId) => directory.invalidate(clientId),
      key: () => keyRing.reload().catch((err: Error) => logger.error({ detail: err.message }, 'cannot reload signing keys')),
    },
    (err) => logger.warn({ detail: err.message }, 'change feed: store unreachable; serving from cache'),
  );
  await feed.start();

  const http = buildHttpServer({
    config,
    logger,
    keyRing,
    tokenDeps: {
      authenticateClient: (c) => authenticator.authenticate(c),
      issueToken: (client, scopes) => issuer.issue(client, scopes),
      expiresInFormat: config.expiresInFormat,
    },
    readiness: {
      store: () => services.store.ping(),
      signing_key: () => keyRing.signer() !== null,
    },
  });

  return {
    ...services,
    http,
    keyRing,
    directory,
    feed,
    async listen() {
      return http.listen({ host: config.host, port: config.port });
    },
    async close() {
      feed.stop();
      await http.close();
      await services.close();
      logger.flush();
    },
  };
}
