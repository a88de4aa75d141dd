/** Builds the Fastify instance: one plugin per concern, one error boundary, one request observer. */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { KeyRing } from '../domain/keys/key-ring.js';
import { correlationIdFrom } from '../protocol/correlation-id.js';
import type { TokenEndpointDeps } from '../protocol/token-endpoint.js';
import { installErrorBoundary, sendOAuthError, toOAuthError } from './error-boundary.js';
import { Metrics } from './metrics.js';
import { health } from './plugins/health.js';
import { metricsRoute } from './plugins/metrics-route.js';
import { tokenRoute } from './plugins/token-route.js';
import { tokenStatusMetadata, tokenStatusRoutes, type TokenStatusDeps } from './plugins/token-status-routes.js';
import { responseShapeMetadata, wellKnown } from './plugins/well-known.js';
import { installRequestObserver } from './request-observer.js';
import { tokenListener } from './token-listener.js';
import { clientAuthMethods, clientCertificateSource, tlsMetadata } from '../tls/policy.js';

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
  /** For the pending-hashes gauge. */
  readonly hashesPending?: () => number;
}

export function buildHttpServer({ config, logger, tokenDeps, keyRing, readiness, tokenStatus, https, hashesPending }: HttpDeps): FastifyInstance {
  const tokenPath = `${config.basePath}/oauth2/token`;
  const metrics = config.metrics ? new Metrics(tokenPath, hashesPending, () => keyRing.signingSince()) : undefined;
  const certificates = clientCertificateSource(config);
  let closing = false;
  const tokens = tokenListener({
    path: tokenPath,
    bodyLimit: config.bodyLimit,
    deps: tokenDeps,
    certificates,
    realm: config.realm,
    log: () => app.log as Logger,
    ...(metrics ? { metrics } : {}),
    closing: () => closing,
  });
  // The token endpoint's POST is answered before Fastify sees it (token-listener.ts); the rest goes on.
  const serverFactory = (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const listener = (req: IncomingMessage, res: ServerResponse) => (tokens.matches(req) ? tokens.handle(req, res) : fastifyHandler(req, res));
    return https ? createHttpsServer(https, listener) : createHttpServer(listener);
  };
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by the request observer's one.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => correlationIdFrom(req.headers['x-correlation-id']),
    bodyLimit: config.bodyLimit,
    // Slow-loris and idle-connection bounds; keep-alive stays long enough for D1's connection reuse.
    requestTimeout: 10_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    // A URL the router cannot decode gets the same RFC-shaped answer as every other error.
    frameworkErrors: (error, request, reply) => sendOAuthError(toOAuthError(error), request, reply, config.realm),
    // Typed as the https variant, like the `https` option below; at run time it is either.
    serverFactory: serverFactory as unknown as FastifyServerFactory<HttpsServer>,
    // The server comes from serverFactory; Fastify reads this only to print https:// addresses.
    https: https ?? null,
  }) as unknown as FastifyInstance;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  installRequestObserver(app, metrics);
  installErrorBoundary(app, config.realm);
  app.register(tokenRoute, { path: tokenPath });
  if (tokenStatus) app.register(tokenStatusRoutes, { basePath: config.basePath, bodyLimit: config.bodyLimit, deps: tokenStatus, certificates });
  const extraMetadata = { ...(tokenStatus ? tokenStatusMetadata(config.issuer, clientAuthMethods(config)) : {}), ...tlsMetadata(config), ...responseShapeMetadata(config) };
  app.register(wellKnown, { basePath: config.basePath, issuer: config.issuer, jwksMaxAge: config.jwksMaxAge, keyRing, signingAlg: config.signingAlg, extraMetadata });
  app.register(health, { checks: readiness });
  if (metrics) app.register(metricsRoute, { metrics });
  return app;
}
