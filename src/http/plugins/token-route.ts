/**
 * {base}/oauth2/token for every method but POST: 405 with Allow. The token listener
 * (../token-listener.ts) answers the path as sent, every method; this route catches the spellings
 * only Fastify's router equates with it (percent-encoded letters). The answer is sent from
 * onRequest, before any body is read or parsed: its content type must not change the answer.
 */
import type { FastifyInstance } from 'fastify';
import { OAuthError } from '../../protocol/oauth-error.js';

export interface TokenRouteOptions {
  readonly path: string;
}

const OTHER_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

export async function tokenRoute(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  app.route({
    method: [...OTHER_METHODS],
    url: options.path,
    exposeHeadRoute: false,
    onRequest: (request, reply, done) => {
      reply.header('connection', 'close');
      done(new OAuthError('invalid_request', 405, 'the token endpoint accepts POST only', `method ${request.method}`, { allow: 'POST' }));
    },
    handler: async () => {
      throw new Error('unreachable: onRequest answers');
    },
  });
}
