/**
 * Express / Connect middleware (structural types only: no dependency on express).
 *
 *   app.get('/things', expressGuard(guard, { requiredScopes: ['d1:read'] }), (req, res) => {
 *     res.json({ client: req.d1Auth.clientId });
 *   });
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GuardError } from './errors.js';
import type { Guard, VerifiedToken } from './guard.js';
import { sendGuardError } from './respond.js';
import { peerCertificateThumbprint } from './thumbprint.js';

export type ConnectNext = (err?: unknown) => void;
export type ConnectMiddleware<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> = (
  req: Req,
  res: Res,
  next: ConnectNext,
) => void;

/** A request the guard has let through. */
export type AuthenticatedRequest<Req extends IncomingMessage = IncomingMessage> = Req & { d1Auth: VerifiedToken };

export interface GuardAdapterOptions {
  requiredScopes?: readonly string[];
  /**
   * Where the client certificate thumbprint comes from (for `cnf["x5t#S256"]` tokens). Default: the
   * TLS connection's peer certificate. Behind a TLS-terminating proxy, supply your own (and trust
   * only headers your proxy sets).
   */
  getPeerCertificateThumbprint?: (req: IncomingMessage) => string | undefined;
}

/**
 * Verifies the bearer token; on success sets `req.d1Auth` and calls `next()`. Guard failures are
 * answered directly (JSON, WWW-Authenticate, Cache-Control: no-store); other errors go to `next(err)`.
 */
export function expressGuard(guard: Guard, options: GuardAdapterOptions = {}): ConnectMiddleware {
  const { requiredScopes } = options;
  const thumbprintOf = options.getPeerCertificateThumbprint ?? peerCertificateThumbprint;
  return function d1AuthMiddleware(req, res, next) {
    let thumbprint: string | undefined;
    try {
      thumbprint = thumbprintOf(req);
    } catch (err) {
      next(err);
      return;
    }
    guard.verify(req.headers.authorization, { requiredScopes, peerCertificateThumbprint: thumbprint }).then(
      (auth) => {
        (req as IncomingMessage & { d1Auth?: VerifiedToken }).d1Auth = auth;
        next();
      },
      (err: unknown) => {
        if (err instanceof GuardError) sendGuardError(res, err);
        else next(err);
      },
    );
  };
}
