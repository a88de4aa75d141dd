/**
 * Client authentication for the endpoints a client calls about tokens (introspection, revocation,
 * the revocation feed): the same HTTP Basic rules and the same authenticator as the token endpoint.
 */
import type { Client } from '../domain/clients/client.js';
import { parseBasicAuthorization, type BasicCredentials } from './basic-auth.js';
import { invalidClient, OAuthError } from './oauth-error.js';
import type { AuthenticationResult } from './token-endpoint.js';

export interface CallerAuthenticationDeps {
  authenticateClient(credentials: BasicCredentials): Promise<AuthenticationResult>;
}

/** Every failure is the same invalid_client (401 + Basic challenge); the reason is logged only. */
export async function authenticateCaller(credentials: BasicCredentials, deps: CallerAuthenticationDeps): Promise<Client> {
  const result = await deps.authenticateClient(credentials);
  if (!result.ok) throw invalidClient(`${result.reason} (client_id ${credentials.clientId.slice(0, 128)})`);
  return result.client;
}

/** For GET endpoints, where there is no body that could carry credentials. */
export function credentialsFromHeader(authorization: string | undefined): BasicCredentials {
  if (authorization === undefined) throw invalidClient('no client credentials');
  return parseBasicAuthorization(authorization);
}

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
