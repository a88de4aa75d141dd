/**
 * {base}/oauth2/token for every method but POST: 405 with Allow. POST itself is answered before
 * Fastify by the token listener (../token-listener.ts), the hot path.
 */
import type { FastifyInstance } from 'fastify';

export interface TokenRouteOptions {
  readonly path: string;
}

const OTHER_METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

export async function tokenRoute(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  app.route({
    method: [...OTHER_METHODS],
    url: options.path,
    handler: async (request, reply) => {
      request.outcome = 'invalid_request';
      return reply
        .code(405)
        .header('allow', 'POST')
        .type('application/json')
        .send('{"error":"invalid_request","error_description":"the token endpoint accepts POST only"}');
    },
  });
}
