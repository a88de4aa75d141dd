/**
 * The admin and management listener (D1AUTHZ_ADMIN_HOST:D1AUTHZ_ADMIN_PORT), apart from the token
 * listener that D1 reaches from the internet: health and metrics for the load balancer and Prometheus,
 * the admin API (/admin/v1, admin tokens), its OpenAPI document and the web console (/console/).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { LogController, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { LogLevelControl } from '../cluster/log-level.js';
import type { AdminTokenService } from '../domain/admin/admin-tokens.js';
import type { ClientService } from '../domain/clients/client-service.js';
import type { KeyService } from '../domain/keys/key-service.js';
import type { Metrics } from '../http/metrics.js';
import { health } from '../http/plugins/health.js';
import { metricsRoute } from '../http/plugins/metrics-route.js';
import { correlationIdFrom } from '../protocol/correlation-id.js';
import { installRequestObserver } from '../http/request-observer.js';
import { RequestOrigins } from '../http/request-origin.js';
import { installAdminAuth } from './admin-auth.js';
import { adminOpenApi } from './openapi.js';
import { installAdminErrors } from './respond.js';
import { clientRoutes } from './routes/clients.js';
import { keyRoutes } from './routes/keys.js';
import { logLevelRoutes } from './routes/log-level.js';
import { consoleRoutes } from './console.js';
import { ADMIN_CONNECTION_LIMITS } from '../transport/connection-limits.js';
import { createNodeServer } from '../transport/node-server.js';

export interface AdminDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly clients: ClientService;
  readonly keys: KeyService;
  readonly tokens: AdminTokenService;
  readonly logLevel: LogLevelControl;
  readonly readiness: Record<string, () => Promise<boolean> | boolean>;
  readonly metrics?: Metrics;
  /** Certificate and key only: the admin listener never asks D1's CA for a client certificate. */
  readonly https?: HttpsServerOptions;
  /** Further /admin/v1 routes (audit, lockouts, stats) registered by the features that own them. */
  readonly extraRoutes?: readonly ((app: FastifyInstance) => Promise<void>)[];
}

const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/admin/v1/openapi.json']);

export function buildAdminServer(deps: AdminDeps): FastifyInstance {
  const { config, https } = deps;
  const logger = deps.logger.child({ listener: 'admin' });
  let lastRefusalLoggedAt = 0;
  // The token listener's transport: its time-outs, answers to what the parser refuses, and caps of its own.
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
    createNodeServer(handler, {
      ...(https ? { https } : {}),
      limits: ADMIN_CONNECTION_LIMITS,
      onRefused: ({ status, code }) => logger.info({ status, outcome: 'invalid_request', detail: code }, 'request refused by the HTTP parser'),
      onConnectionRefused: (reason) => {
        // Once a second at most: a refusal per connection would let a flood write the log.
        const now = Date.now();
        if (now - lastRefusalLoggedAt < 1000) return;
        lastRefusalLoggedAt = now;
        logger.warn({ reason, max_connections: ADMIN_CONNECTION_LIMITS.maxConnections }, 'admin connection refused: connection cap reached');
      },
    });
  const app = Fastify({
    loggerInstance: logger,
    // One line per request, as on the public listener (request-observer.ts).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => correlationIdFrom(req.headers['x-correlation-id']),
    bodyLimit: 65_536,
    serverFactory: serverFactory as unknown as FastifyServerFactory<HttpsServer>,
    // The server comes from serverFactory; Fastify reads this only to print https:// addresses.
    https: https ?? null,
    return503OnClosing: true,
    // Answered by the server above (transport/client-error.ts); Fastify's default would log the raw request bytes at trace level.
    clientErrorHandler: () => {},
  }) as unknown as FastifyInstance;
  installRequestObserver(app, undefined, new RequestOrigins(config.trustedProxies));
  installAdminErrors(app);
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });
  installAdminAuth(app, deps.tokens, (request) => {
    const path = request.url.split('?')[0]!;
    return OPEN_PATHS.has(path) || !path.startsWith('/admin/');
  });
  app.register(health, { checks: deps.readiness });
  if (deps.metrics) app.register(metricsRoute, { metrics: deps.metrics });
  app.register(
    async (api) => {
      api.get('/openapi.json', async (_request, reply) => reply.header('cache-control', 'no-store').send(adminOpenApi(config)));
      api.get('/whoami', async (request) => ({ name: request.admin!.name, role: request.admin!.role }));
      await api.register(clientRoutes(deps.clients));
      await api.register(keyRoutes(deps.keys, config));
      await api.register(logLevelRoutes(deps.logLevel));
      for (const routes of deps.extraRoutes ?? []) await api.register(routes);
    },
    { prefix: '/admin/v1' },
  );
  app.register(consoleRoutes);
  return app;
}
