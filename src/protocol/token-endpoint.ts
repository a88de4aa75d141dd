/**
 * The token endpoint (RFC 6749 §4.4, client credentials grant) as an ordered list of
 * small named steps, each testable alone. The order reads like the RFC: parse the
 * request, authenticate the client, check the grant, check the scope, issue.
 * Framework-free: the HTTP layer hands in plain strings and sends what comes back.
 */
import type { Client } from '../model/client.js';
import type { IssuedToken } from '../model/issued-token.js';
import { authenticateClient, type ClientAuthenticationDeps, type ClientRequest } from './client-authentication.js';
import { assertFormContentType, parseFormBody } from './form-body.js';
import { invalidRequest, OAuthError, unauthorizedClient, unsupportedGrantType } from './oauth-error.js';
import { grantScopes, parseScope } from './scope.js';
import { certificateConfirmation, type TokenConfirmation } from '../model/client-certificate.js';
import type { RequestOrigin } from '../domain/audit/request-audit.js';

export type TokenRequest = ClientRequest;

export interface TokenEndpointDeps extends ClientAuthenticationDeps {
  issueToken(client: Client, scopes: readonly string[], confirmation?: TokenConfirmation, origin?: RequestOrigin): Promise<IssuedToken>;
  /**
   * The server's response shape, for clients that have none of their own: the contract types
   * expires_in as a string and adds expires_at; RFC 6749 clients want a number and may refuse extras.
   */
  readonly expiresInFormat: 'string' | 'number';
  readonly expiresAt: boolean;
}

export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer';
  expires_in: string | number;
  scope?: string;
  expires_at?: string;
}

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

/** Step 3: RFC 6749 §4.4.2 "grant_type REQUIRED. Value MUST be set to client_credentials." */
export function checkGrantType(params: Params): void {
  const grantType = params.get('grant_type');
  if (grantType === undefined) throw invalidRequest('grant_type is required');
  if (grantType !== 'client_credentials') throw unsupportedGrantType(`grant_type ${grantType.slice(0, 32)}`);
}

// Steps 4–5: client authentication (client-authentication.ts), shared with introspection and revocation:
// HTTP Basic or RFC 8705 tls_client_auth, then the client's certificate binding.

/** Step 6: RFC 6749 §5.2 unauthorized_client: "not authorized to use this authorization grant type". */
export function checkClientGrant(client: Client): void {
  if (!client.grantTypes.includes('client_credentials')) throw unauthorizedClient(`client ${client.clientId}`);
}

/** Step 7: the scope to grant (RFC 6749 §3.3). */
export function resolveScope(params: Params, client: Client): readonly string[] {
  const scope = params.get('scope');
  return grantScopes(scope === undefined ? undefined : parseScope(scope), client);
}

/** Step 8: sign and shape the answer. */
export async function issue(
  client: Client,
  scopes: readonly string[],
  deps: TokenEndpointDeps,
  confirmation?: TokenConfirmation,
  origin?: RequestOrigin,
): Promise<TokenResponseBody> {
  const token = await deps.issueToken(client, scopes, confirmation, origin);
  // The client's own shape wins over the server's: D1 and an RFC 6749 client can share one server.
  const expiresInFormat = client.expiresInFormat ?? deps.expiresInFormat;
  const body: TokenResponseBody = {
    access_token: token.accessToken,
    token_type: 'Bearer',
    expires_in: expiresInFormat === 'number' ? token.expiresIn : String(token.expiresIn),
  };
  if (client.expiresAt ?? deps.expiresAt) body.expires_at = token.expiresAt;
  if (token.scope !== '') body.scope = token.scope;
  return body;
}

export async function handleTokenRequest(request: TokenRequest, deps: TokenEndpointDeps): Promise<TokenSuccess> {
  const params = readParameters(request);
  checkGrantType(params);
  const client = await authenticateClient(request, params, deps);
  checkClientGrant(client);
  const scopes = resolveScope(params, client);
  return { client, body: await issue(client, scopes, deps, certificateConfirmation(client, request.clientCertificate), request.origin) };
}

export { OAuthError };
