/**
 * Bearer authentication of the admin API (RFC 6750): every /admin/v1 request but the OpenAPI
 * document needs an admin token; `viewer` may only read, `admin` may change.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AdminIdentity, AdminTokenService } from '../domain/admin/admin-tokens.js';
import { AdminApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin token's identity, once authenticated. */
    admin: AdminIdentity | undefined;
  }
}

const READ_METHODS = new Set(['GET', 'HEAD']);
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

export function installAdminAuth(app: FastifyInstance, tokens: AdminTokenService, open: (request: FastifyRequest) => boolean): void {
  app.decorateRequest('admin', undefined);
  app.addHook('onRequest', async (request) => {
    if (open(request)) return;
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    if (!m) throw new AdminApiError('invalid_token', 401, 'an admin token is required (Authorization: Bearer ...)');
    const identity = await tokens.authenticate(m[1]!);
    if (!identity) throw new AdminApiError('invalid_token', 401, 'the admin token is unknown, revoked or malformed');
    request.admin = identity;
    if (identity.role !== 'admin' && !READ_METHODS.has(request.method)) {
      throw new AdminApiError('insufficient_scope', 403, `the ${identity.role} role may only read`);
    }
  });
}

/** The actor an audit row names for a change made through the admin API. */
export const actorOf = (request: FastifyRequest): string => `admin-token:${request.admin?.name ?? 'unknown'}`;
