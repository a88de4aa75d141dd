/**
 * Fastify adapter.
 *
 * Per route, without the plugin:
 *   app.get('/things', { preHandler: requireAuth(guard, { requiredScopes: ['d1:read'] }) }, handler);
 *
 * With the plugin (decorates `app.d1Guard`, `app.d1Authenticate(...)` and `request.d1Auth`; not
 * encapsulated, so the decorations are visible where it was registered):
 *   await app.register(d1AuthPlugin, { guard });
 *   app.get('/things', { preHandler: app.d1Authenticate({ requiredScopes: ['d1:read'] }) }, handler);
 *
 * In handlers, `request.d1Auth` holds the VerifiedToken. Failures are answered with JSON
 * {error, error_description}, WWW-Authenticate and Cache-Control: no-store.
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { GuardError } from './errors.js';
import type { Guard, VerifiedToken } from './guard.js';
import type { GuardAdapterOptions } from './express.js';
import { peerCertificateThumbprint } from './thumbprint.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the d1-authz guard preHandler once the bearer token is verified. */
    d1Auth?: VerifiedToken;
  }
  interface FastifyInstance {
    d1Guard: Guard;
    d1Authenticate: (options?: GuardAdapterOptions) => D1AuthPreHandler;
  }
}

export type D1AuthPreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** preHandler verifying the bearer token (and the route's required scopes); sets `request.d1Auth`. */
export function requireAuth(guard: Guard, options: GuardAdapterOptions = {}): D1AuthPreHandler {
  const { requiredScopes } = options;
  const thumbprintOf = options.getPeerCertificateThumbprint ?? peerCertificateThumbprint;
  return async function d1AuthPreHandler(request, reply) {
    try {
      request.d1Auth = await guard.verify(request.headers.authorization, {
        requiredScopes,
        peerCertificateThumbprint: thumbprintOf(request.raw),
      });
      return undefined;
    } catch (err) {
      if (err instanceof GuardError) {
        return reply.code(err.status).headers(err.headers).type('application/json; charset=utf-8').send(err.serializedBody);
      }
      throw err;
    }
  };
}

export interface D1AuthPluginOptions {
  guard: Guard;
  /** Default thumbprint source for every preHandler made by `d1Authenticate`. */
  getPeerCertificateThumbprint?: GuardAdapterOptions['getPeerCertificateThumbprint'];
}

const plugin: FastifyPluginCallback<D1AuthPluginOptions> = (fastify: FastifyInstance, opts, done) => {
  if (!opts || !opts.guard) {
    done(new TypeError('d1AuthPlugin: the "guard" option is required'));
    return;
  }
  const { guard, getPeerCertificateThumbprint } = opts;
  fastify.decorate('d1Guard', guard);
  if (!fastify.hasRequestDecorator('d1Auth')) fastify.decorateRequest('d1Auth', undefined);
  fastify.decorate('d1Authenticate', (options: GuardAdapterOptions = {}) =>
    requireAuth(guard, { getPeerCertificateThumbprint, ...options }),
  );
  done();
};

/** Fastify plugin (skip-override, like fastify-plugin, without depending on it). */
export const d1AuthPlugin = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'd1-authz-guard',
});
