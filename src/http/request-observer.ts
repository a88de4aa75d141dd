/**
 * One log line and one metric sample per Fastify-served request, written when the response is done
 * (request-record.ts; the token listener writes the same for the token endpoint).
 * The correlation id (D1's x-correlation-id, or a generated one) is the request id, so it
 * is on every log line of the request; headers and bodies are never logged (they hold secrets).
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';
import { recordRequest } from './request-record.js';
import type { RequestOrigin } from '../domain/audit/request-audit.js';
import type { RequestOrigins } from './request-origin.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated client, when there is one. */
    clientId: string | undefined;
    /** 'issued', an OAuth error code, or undefined for other routes. */
    outcome: string | undefined;
    /** The private detail of a failure: logged, never sent. */
    errorDetail: string | undefined;
    /** Peer and trusted-proxy forwarded address, correlation id (set on arrival). */
    origin: RequestOrigin;
  }
}

export function installRequestObserver(app: FastifyInstance, metrics: Metrics | undefined, origins: RequestOrigins): void {
  app.decorateRequest('clientId', undefined);
  app.decorateRequest('outcome', undefined);
  app.decorateRequest('errorDetail', undefined);
  app.decorateRequest('origin', undefined as unknown as RequestOrigin);
  app.addHook('onRequest', (request, reply, done) => {
    request.origin = origins.of(request.raw, request.id);
    reply.header('x-correlation-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    recordRequest(request.log, metrics, {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: reply.statusCode,
      ms: reply.elapsedTime,
      clientId: request.clientId,
      outcome: request.outcome,
      detail: request.errorDetail,
      // A request refused before onRequest (a URL the router cannot decode) has no origin yet.
      address: request.origin?.address ?? request.raw.socket.remoteAddress,
      forwardedFor: request.origin?.forwardedFor,
    });
    done();
  });
}
