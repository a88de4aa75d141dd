/** The admin API's error responses: one shape, the challenge on 401, nothing internal sent. */
import type { FastifyInstance } from 'fastify';
import { AdminApiError, toAdminApiError } from './errors.js';

export function installAdminErrors(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toAdminApiError(err);
    if (e.status >= 500 && e.status !== 503) request.log.error({ detail: e.detail }, 'admin request failed');
    else if (e.detail) request.log.info({ detail: e.detail }, 'admin request refused');
    if (e.status === 401) reply.header('www-authenticate', `Bearer realm="d1-authz-admin", error="invalid_token"`);
    if (e.status === 403) reply.header('www-authenticate', `Bearer realm="d1-authz-admin", error="insufficient_scope"`);
    if (e.headers) reply.headers(e.headers);
    if (e.status === 503 && !e.headers?.['retry-after']) reply.header('retry-after', '5');
    return reply.code(e.status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send({ error: e.code, error_description: e.description });
  });
  app.setNotFoundHandler((_request, reply) => {
    const e = new AdminApiError('not_found', 404, 'no such resource');
    return reply.code(404).type('application/json; charset=utf-8').send({ error: e.code, error_description: e.description });
  });
}
