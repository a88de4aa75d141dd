/**
 * The token endpoint (RFC 6749 §4.4, client credentials grant) as an ordered list of
 * small named steps, each testable alone. The order reads like the RFC: parse the
 * request, authenticate the client, check the grant, check the scope, issue.
 * Framework-free: the HTTP layer hands in plain strings and sends what comes back.
 * The grants themselves (what follows client authentication) are the registry in grants/.
 */
import type { Client, GrantType } from '../model/client.js';
import { authenticateClient } from './client-authentication.js';
import { assertFormContentType, parseFormBody } from './form-body.js';
import { invalidRequest, OAuthError, unauthorizedClient } from './oauth-error.js';
import { grantOf, grantParameters } from './grants/index.js';
import type { Grant, TokenEndpointDeps, TokenRequest, TokenResponseBody } from './grants/grant.js';

export type { AuthenticationResult } from './client-authentication.js';
export type { IssuedToken, TokenEndpointDeps, TokenRequest, TokenResponseBody } from './grants/grant.js';
export { issue } from './grants/issue.js';
export { resolveScope } from './grants/client-credentials.js';

export interface TokenSuccess {
  readonly client: Client;
  readonly body: TokenResponseBody;
}

type Params = ReadonlyMap<string, string>;

/** Steps 1–2: content type, then the form body (repeated parameters are refused there). */
export function readParameters(request: TokenRequest): Params {
  assertFormContentType(request.contentType);
  if (request.body === undefined || request.body.length === 0) throw invalidRequest('the request body is empty');
  return parseFormBody(request.body);
}

/** Step 3: the grant named by grant_type (grants/index.ts), before anything is verified. */
export function checkGrantType(params: Params): Grant {
  return grantOf(params);
}

// Steps 4–5: client authentication (client-authentication.ts), shared with introspection and revocation:
// HTTP Basic or RFC 8705 tls_client_auth, then the client's certificate binding.

/** Step 6: RFC 6749 §5.2 unauthorized_client: "not authorized to use this authorization grant type". */
export function checkClientGrant(client: Client, grantType: GrantType): void {
  if (!client.grantTypes.includes(grantType)) throw unauthorizedClient(`client ${client.clientId}`);
}

// Steps 7–8: the grant's own (for client_credentials, grants/client-credentials.ts): the scope to
// grant (RFC 6749 §3.3), then sign and shape the answer (grants/issue.ts).

export async function handleTokenRequest(request: TokenRequest, deps: TokenEndpointDeps): Promise<TokenSuccess> {
  const params = readParameters(request);
  const grant = checkGrantType(params);
  const client = await authenticateClient(request, params, deps);
  checkClientGrant(client, grant.grantType);
  return { client, body: await grant.handle({ client, params: grantParameters(grant, params), request }, deps) };
}

export { OAuthError };
