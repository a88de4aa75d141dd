/**
 * Plain node:http wrapper.
 *
 *   http.createServer(withGuard(guard, (req, res, auth) => { ... }, { requiredScopes: ['d1:read'] }));
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GuardError } from './errors.js';
import type { Guard, VerifiedToken } from './guard.js';
import type { AuthenticatedRequest, GuardAdapterOptions } from './express.js';
import { sendGuardError, sendServerError } from './respond.js';
import { peerCertificateThumbprint } from './thumbprint.js';

export type GuardedHandler = (
  req: AuthenticatedRequest,
  res: ServerResponse,
  auth: VerifiedToken,
) => void | Promise<void>;

export interface WithGuardOptions extends GuardAdapterOptions {
  /** Called with errors thrown by the handler (after a 500 was sent). */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

/**
 * Wraps a node:http request handler: the handler runs only for a valid token (with `req.d1Auth`
 * set and `auth` passed as third argument). Failures are answered with JSON, WWW-Authenticate and
 * Cache-Control: no-store. A throwing/rejecting handler gets a 500 (or a destroyed socket if it had
 * already started answering).
 */
export function withGuard(
  guard: Guard,
  handler: GuardedHandler,
  options: WithGuardOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const { requiredScopes, onError } = options;
  const thumbprintOf = options.getPeerCertificateThumbprint ?? peerCertificateThumbprint;
  return (req, res) => {
    void (async () => {
      let auth: VerifiedToken;
      try {
        auth = await guard.verify(req.headers.authorization, {
          requiredScopes,
          peerCertificateThumbprint: thumbprintOf(req),
        });
      } catch (err) {
        if (err instanceof GuardError) sendGuardError(res, err);
        else {
          onError?.(err, req);
          sendServerError(res);
        }
        return;
      }
      const authed = req as AuthenticatedRequest;
      authed.d1Auth = auth;
      try {
        await handler(authed, res, auth);
      } catch (err) {
        onError?.(err, req);
        sendServerError(res);
      }
    })();
  };
}
