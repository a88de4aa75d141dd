/**
 * The one place where errors become responses. Every failure is an RFC 6749 §5.2 JSON body;
 * nothing internal (messages, stacks) reaches the client. Private details go to the log.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ClientAdminError } from '../domain/clients/client-service.js';
import { HashCapacityError } from '../domain/clients/client-authenticator.js';
import { StoreUnavailableError } from '../domain/clients/client-directory.js';
import { KeyUnavailableError } from '../domain/keys/signer.js';
import { NoSigningKeyError } from '../domain/tokens/token-issuer.js';
import { LockedOutError } from '../domain/lockout/lockout.js';
import { OAuthError, invalidRequest, lockedOut, temporarilyUnavailable } from '../protocol/oauth-error.js';
import { oauthErrorResponse } from './oauth-error-response.js';

export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof LockedOutError) return lockedOut(err.retryAfterSeconds, err.message);
  if (err instanceof StoreUnavailableError || err instanceof NoSigningKeyError || err instanceof HashCapacityError) {
    return temporarilyUnavailable(err.message, err instanceof StoreUnavailableError ? 5 : 1);
  }
  // The HSM reconnects every second; a couple of seconds lets it come back before the client retries.
  if (err instanceof KeyUnavailableError) return temporarilyUnavailable(err.message, 2);
  if (err instanceof ClientAdminError) return invalidRequest(err.message);
  const status = (err as FastifyError | undefined)?.statusCode;
  if (status === 413) return new OAuthError('invalid_request', 413, 'the request body is too large', (err as Error).message);
  // RFC 6749 §5.2 makes a wrong content type invalid_request, a 400: not the framework's 415.
  if (status === 415) return invalidRequest('content-type must be application/x-www-form-urlencoded', (err as Error).message);
  if (status !== undefined && status >= 400 && status < 500) {
    return new OAuthError('invalid_request', status, 'the request is malformed', (err as Error).message);
  }
  return new OAuthError('server_error', 500, 'internal error', err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err));
}

export function sendOAuthError(error: OAuthError, request: FastifyRequest, reply: FastifyReply, realm: string): FastifyReply {
  request.outcome = error.code;
  request.errorDetail = error.detail;
  const response = oauthErrorResponse(error, realm);
  return reply.code(response.status).headers(response.headers).send(response.body);
}

export function installErrorBoundary(app: FastifyInstance, realm: string): void {
  app.setErrorHandler((err, request, reply) => sendOAuthError(toOAuthError(err), request, reply, realm));
  app.setNotFoundHandler((request, reply) => {
    request.outcome = 'not_found';
    return reply.code(404).type('application/json').send('{"error":"not_found","error_description":"no such resource"}');
  });
}
