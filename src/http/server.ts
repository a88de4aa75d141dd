/** Builds the Fastify instance: one plugin per concern, one error boundary, one request observer. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { KeyRing } from '../domain/keys/key-ring.js';
import { correlationIdFrom } from '../protocol/correlation-id.js';
import type { TokenEndpointDeps } from '../protocol/token-endpoint.js';
import { installErrorBoundary, sendOAuthError, toOAuthError } from './error-boundary.js';
import type { Metrics } from './metrics.js';
import { health } from './plugins/health.js';
import { metricsRoute } from './plugins/metrics-route.js';
import { tokenRoute } from './plugins/token-route.js';
import { tokenStatusMetadata, tokenStatusRoutes, type TokenStatusDeps } from './plugins/token-status-routes.js';
import { responseShapeMetadata, wellKnown } from './plugins/well-known.js';
import { installRequestObserver } from './request-observer.js';
import { tokenListener } from './token-listener.js';
import { publicOpenApi } from './openapi.js';
import { RequestOrigins } from './request-origin.js';
import { registerLockoutMetrics, type LockoutMetricsSource } from './lockout-metrics.js';
import { SourceAddress } from './source-address.js';
import { clientAuthMethods, clientCertificateSource, tlsMetadata } from '../tls/policy.js';
import type { TransportRefusal } from '../transport/client-error.js';
import { createNodeServer } from '../transport/node-server.js';
import type { ServerTimeouts } from '../transport/server-timeouts.js';
import { installSingletonFieldCheck } from './singleton-field-check.js';
import { loadShedder } from './load-shedder.js';
import { registerLoadMetrics, type LoadMetrics } from './load-metrics.js';
import { FIXED_CONNECTION_LIMITS } from '../transport/connection-limits.js';
import type { ConnectionRefusal } from '../transport/connection-caps.js';

export interface HttpDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly tokenDeps: TokenEndpointDeps;
  readonly keyRing: KeyRing;
  readonly readiness: Record<string, () => Promise<boolean> | boolean>;
  /** Introspection, revocation and the revocation feed. */
  readonly tokenStatus?: TokenStatusDeps;
  /** TLS options (src/tls/server-options.ts tlsServerOptions): serve HTTPS instead of HTTP. */
  readonly https?: HttpsServerOptions;
  /** The app's metrics (shared with the admin listener); /metrics is served here only with D1AUTHZ_PUBLIC_METRICS. */
  readonly metrics?: Metrics | undefined;
  /** The brute-force lockout, for its metrics. */
  readonly lockout?: LockoutMetricsSource;
  /** Default SERVER_TIMEOUTS (docs/operations.md); tests pass small ones. */
  readonly timeouts?: ServerTimeouts;
}

export function buildHttpServer({ config, logger, tokenDeps, keyRing, readiness, tokenStatus, https, metrics, lockout, timeouts }: HttpDeps): FastifyInstance {
  const tokenPath = tokenPathOf(config);
  const origins = new RequestOrigins(config.trustedProxies);
  if (metrics && lockout) registerLockoutMetrics(metrics.registry, lockout);
  const certificates = clientCertificateSource(config);
  const sources = new SourceAddress(config.trustedProxies);
  let closing = false;
  const tokens = tokenListener({
    path: tokenPath,
    bodyLimit: config.bodyLimit,
    deps: tokenDeps,
    certificates,
    sources,
    realm: config.realm,
    log: () => app.log as Logger,
    ...(metrics ? { metrics } : {}),
    closing: () => closing,
    origins,
  });
  // One node server serves the token listener and Fastify: the same limits for both.
  const limits = { ...FIXED_CONNECTION_LIMITS, maxConnections: config.maxConnections, maxConnectionsPerAddress: config.maxConnectionsPerAddress };
  const shedder = loadShedder({
    maxInFlight: config.maxInFlight,
    realm: config.realm,
    onShedding: (shedTotal) =>
      (app.log as Logger).warn({ max_in_flight: config.maxInFlight, shed_total: shedTotal }, 'overloaded: requests past D1AUTHZ_MAX_IN_FLIGHT are answered 503'),
  });
  let openConnections = () => 0;
  let loadMetrics: LoadMetrics | undefined;
  let refusalsReportedAt = -Infinity;
  const connectionRefused = (reason: ConnectionRefusal) => {
    loadMetrics?.connectionRefused(reason);
    const now = performance.now();
    if (now - refusalsReportedAt < 10_000) return;
    refusalsReportedAt = now;
    (app.log as Logger).warn({ reason, max_connections: limits.maxConnections, max_connections_per_address: limits.maxConnectionsPerAddress }, 'connection refused by a connection cap');
  };
  const refused = ({ status, code }: TransportRefusal) => {
    (app.log as Logger).info({ status, outcome: 'invalid_request', detail: code }, 'request refused by the HTTP parser');
    metrics?.observe('unparsed', status, 0, undefined);
  };
  // The token endpoint is answered before Fastify sees it (token-listener.ts, which sets its own
  // headers); the rest goes on.
  const serverFactory = (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (!shedder.admit(req, res)) return;
      if (tokens.matches(req)) return tokens.handle(req, res);
      // On every answer, Fastify's own included (a bad URL, 503 while closing): JSON is never sniffed as HTML.
      res.setHeader('x-content-type-options', 'nosniff');
      fastifyHandler(req, res);
    };
    const server = createNodeServer(listener, {
      ...(https ? { https } : {}),
      ...(timeouts ? { timeouts } : {}),
      limits,
      onRefused: refused,
      onConnectionRefused: connectionRefused,
    });
    openConnections = server.connectionCaps.open;
    return server;
  };
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's two lines per request are replaced by the request observer's one.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => correlationIdFrom(req.headers['x-correlation-id']),
    bodyLimit: config.bodyLimit,
    // Time-outs are set on the server itself (transport/node-server.ts): with a serverFactory, Fastify ignores its own.
    return503OnClosing: true,
    // The server answers the parser's refusals itself (transport/client-error.ts); Fastify's default
    // handler would answer in its own shape and log the raw request bytes at trace level.
    clientErrorHandler: () => {},
    // A URL the router cannot decode gets the same RFC-shaped answer as every other error.
    frameworkErrors: (error, request, reply) => {
      sendOAuthError(toOAuthError(error), request, reply, config.realm);
    },
    // Typed as the https variant, like the `https` option below; at run time it is either.
    serverFactory: serverFactory as unknown as FastifyServerFactory<HttpsServer>,
    // The server comes from serverFactory; Fastify reads this only to print https:// addresses.
    https: https ?? null,
  }) as unknown as FastifyInstance;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  if (metrics) loadMetrics = registerLoadMetrics(metrics.registry, shedder, () => openConnections());
  installRequestObserver(app, metrics, origins);
  installErrorBoundary(app, config.realm);
  installSingletonFieldCheck(app);
  app.register(tokenRoute, { path: tokenPath });
  if (tokenStatus) app.register(tokenStatusRoutes, { basePath: config.basePath, bodyLimit: config.bodyLimit, deps: tokenStatus, certificates, sources });
  const extraMetadata = { ...(tokenStatus ? tokenStatusMetadata(config.issuer, clientAuthMethods(config)) : {}), ...tlsMetadata(config), ...responseShapeMetadata(config) };
  app.register(wellKnown, { basePath: config.basePath, issuer: config.issuer, jwksMaxAge: config.jwksMaxAge, keyRing, signingAlg: config.signingAlg, extraMetadata });
  const openapi = JSON.stringify(publicOpenApi(config));
  app.get(`${config.basePath}/openapi.json`, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').type('application/json').send(openapi));
  app.register(health, { checks: readiness });
  if (metrics && config.publicMetrics) app.register(metricsRoute, { metrics });
  return app;
}

export const tokenPathOf = (config: Pick<Config, 'basePath'>) => `${config.basePath}/oauth2/token`;
