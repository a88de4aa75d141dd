/**
 * One log line and one metric sample per request, written when the response is done.
 * The correlation id (D1's x-correlation-id, or a generated one) is the request id, so it
 * is on every log line of the request; headers and bodies are never logged (they hold secrets).
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client, when there is one. */
    clientId: string | undefined;
    /** 'issued', an OAuth error code, or undefined for other routes. */
    outcome: string | undefined;
    /** The private detail of a failure: logged, never sent. */
    errorDetail: string | undefined;
  }
}

export function installRequestObserver(app: FastifyInstance, metrics: Metrics | undefined): void {
  app.decorateRequest('clientId', undefined);
  app.decorateRequest('outcome', undefined);
  app.decorateRequest('errorDetail', undefined);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-correlation-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const ms = reply.elapsedTime;
    const route = request.routeOptions.url ?? 'unmatched';
    const line = {
      method: request.method,
      route,
      status: reply.statusCode,
      ms: Math.round(ms * 100) / 100,
      client_id: request.clientId,
      outcome: request.outcome,
      detail: request.errorDetail,
    };
    if (reply.statusCode >= 500 && reply.statusCode !== 503) request.log.error(line, 'request');
    else request.log.info(line, 'request');
    metrics?.observe(route, reply.statusCode, ms, request.outcome);
    done();
  });
}
