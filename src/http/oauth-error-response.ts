/**
 * An OAuthError as an HTTP answer (RFC 6749 §5.2), framework-free: the error boundary (Fastify routes)
 * and the token listener (node:http) send the same bytes for the same error.
 */
import { basicChallenge, errorBody } from '../errors/error-body.js';
import type { OAuthError } from '../protocol/oauth-error.js';

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function oauthErrorResponse(error: OAuthError, realm: string): ErrorResponse {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-content-type-options': 'nosniff',
    ...error.headers,
  };
  // RFC 6749 §5.2: a 401 invalid_client carries the challenge of the scheme the client used.
  if (error.code === 'invalid_client') headers['www-authenticate'] = basicChallenge(realm);
  return { status: error.status, headers, body: errorBody(error.code, error.description) };
}
