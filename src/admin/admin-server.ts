/**
 * The admin and management listener (D1AUTHZ_ADMIN_HOST:D1AUTHZ_ADMIN_PORT), apart from the token
 * listener that D1 reaches from the internet: health and metrics for the load balancer and Prometheus,
 * the admin API (/admin/v1, admin tokens), its OpenAPI document and the web console (/console/).
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
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
import { installAdminAuth } from './admin-auth.js';
import { adminOpenApi } from './openapi.js';
import { installAdminErrors } from './respond.js';
import { clientRoutes } from './routes/clients.js';
import { keyRoutes } from './routes/keys.js';
import { logLevelRoutes } from './routes/log-level.js';
import { consoleRoutes } from './console.js';

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
  const serverFactory = (handler: (req: IncomingMessage, res: ServerResponse) => void) => (https ? createHttpsServer(https, handler) : createHttpServer(handler));
  const app = Fastify({
    loggerInstance: deps.logger.child({ listener: 'admin' }) as FastifyBaseLogger,
    // One line per request, as on the public listener (request-observer.ts).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => correlationIdFrom(req.headers['x-correlation-id']),
    bodyLimit: 65_536,
    serverFactory: serverFactory as unknown as FastifyServerFactory<HttpsServer>,
    // The server comes from serverFactory; Fastify reads this only to print https:// addresses.
    https: https ?? null,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  installRequestObserver(app, undefined);
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
