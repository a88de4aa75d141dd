/**
 * What the endpoints a client calls about tokens (introspection, revocation, the revocation feed)
 * require beyond client authentication (client-authentication.ts): a permission, a token.
 */
import type { Client } from '../model/client.js';
import { OAuthError } from './oauth-error.js';

/**
 * Introspection and the revocation feed reveal other clients' tokens, so only clients registered as
 * resource servers (`introspect`) may use them. RFC 7662 §2.3 answers an unauthorized caller with
 * "an HTTP 401 (Unauthorized) as described in Section 5.2 of OAuth 2.0": invalid_client.
 */
export function requireIntrospectPermission(client: Client): void {
  if (client.introspect !== true) {
    throw new OAuthError('invalid_client', 401, 'the client is not allowed to use this endpoint', `client ${client.clientId} has no introspect permission`);
  }
}

/** RFC 7662 §2.1 and RFC 7009 §2.1: "token REQUIRED". */
export function requireToken(params: ReadonlyMap<string, string>): string {
  const token = params.get('token');
  if (token === undefined) throw new OAuthError('invalid_request', 400, 'the token parameter is required');
  return token;
}
