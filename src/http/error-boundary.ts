/**
 * The one place where errors become responses. Every failure is an RFC 6749 §5.2 JSON body;
 * nothing internal (messages, stacks) reaches the client. Private details go to the log.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { D1AuthzError } from '../errors/d1authz-error.js';
import { errorBody } from '../errors/error-body.js';
import { errorEntry, SERVER_ERROR_CODES } from '../errors/error-table.js';
import { answerOf } from '../errors/answer.js';
import { invalidRequest, OAuthError, type OAuthErrorCode } from '../protocol/oauth-error.js';
import { oauthErrorResponse } from './oauth-error-response.js';

const NOT_FOUND = SERVER_ERROR_CODES.ERR_NOT_FOUND.http;
const NOT_FOUND_BODY = errorBody(NOT_FOUND.error, NOT_FOUND.description);

export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  // The error table says which errors have an answer of their own; the others are a 500.
  const http = err instanceof D1AuthzError ? errorEntry(err.errorCode)?.http : undefined;
  if (http) {
    const a = answerOf(err as D1AuthzError, http);
    return new OAuthError(a.error as OAuthErrorCode, a.status, a.description, a.detail, a.headers, a.errorCode);
  }
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
    request.outcome = NOT_FOUND.error;
    return reply.code(NOT_FOUND.status).type('application/json').send(NOT_FOUND_BODY);
  });
}
