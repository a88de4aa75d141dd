/** Builds the Fastify instance: one plugin per concern, one error boundary, one request observer. */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { KeyRing } from '../domain/keys/key-ring.js';
import { correlationIdFrom } from '../protocol/correlation-id.js';
import type { TokenEndpointDeps } from '../protocol/token-endpoint.js';
import { installErrorBoundary } from './error-boundary.js';
import { Metrics } from './metrics.js';
import { health } from './plugins/health.js';
import { metricsRoute } from './plugins/metrics-route.js';
import { tokenRoute } from './plugins/token-route.js';
import { wellKnown } from './plugins/well-known.js';
import { installRequestObserver } from './request-observer.js';

export interface HttpDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly tokenDeps: TokenEndpointDeps;
  readonly keyRing: KeyRing;
  readonly readiness: Record<string, () => Promise<boolean> | boolean>;
}

export function buildHttpServer({ config, logger, tokenDeps, keyRing, readiness }: HttpDeps): FastifyInstance {
  const tokenPath = `${config.basePath}/oauth2/token`;
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
  });
  const metrics = config.metrics ? new Metrics(tokenPath) : undefined;
  installRequestObserver(app, metrics);
  installErrorBoundary(app, config.realm);
  app.register(tokenRoute, { path: tokenPath, bodyLimit: config.bodyLimit, deps: tokenDeps });
  app.register(wellKnown, { basePath: config.basePath, issuer: config.issuer, jwksMaxAge: config.jwksMaxAge, keyRing, signingAlg: config.signingAlg });
  app.register(health, { checks: readiness });
  if (metrics) app.register(metricsRoute, { metrics });
  return app;
}
