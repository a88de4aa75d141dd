/** The admin API's error responses: one shape, the challenge on 401, nothing internal sent. */
import type { FastifyInstance } from 'fastify';
import { bearerChallenge, errorBody } from '../errors/error-body.js';
import { AdminApiError, toAdminApiError } from './errors.js';

const REALM = 'd1-authz-admin';
/** The admin API's 503s always say when to come back (the table's wait for its own). */
const DEFAULT_RETRY_AFTER = '5';

export function installAdminErrors(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toAdminApiError(err);
    if (e.status >= 500 && e.status !== 503) request.log.error({ detail: e.detail }, 'admin request failed');
    else if (e.detail) request.log.info({ detail: e.detail }, 'admin request refused');
    if (e.status === 401) reply.header('www-authenticate', bearerChallenge({ realm: REALM, error: 'invalid_token' }));
    if (e.status === 403) reply.header('www-authenticate', bearerChallenge({ realm: REALM, error: 'insufficient_scope' }));
    if (e.headers) reply.headers(e.headers);
    if (e.status === 503 && !e.headers?.['retry-after']) reply.header('retry-after', DEFAULT_RETRY_AFTER);
    return reply.code(e.status).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(errorBody(e.code, e.description));
  });
  app.setNotFoundHandler((_request, reply) => {
    const e = new AdminApiError('not_found', 404, 'no such resource');
    return reply.code(404).type('application/json; charset=utf-8').send(errorBody(e.code, e.description));
  });
}
