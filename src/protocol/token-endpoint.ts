/**
 * The token endpoint (RFC 6749 §4.4, client credentials grant) as an ordered list of
 * small named steps, each testable alone. The order reads like the RFC: parse the
 * request, authenticate the client, check the grant, check the scope, issue.
 * Framework-free: the HTTP layer hands in plain strings and sends what comes back.
 */
import type { Client } from '../domain/clients/client.js';
import { parseBasicAuthorization, type BasicCredentials } from './basic-auth.js';
import { assertFormContentType, parseFormBody } from './form-body.js';
import { invalidClient, invalidRequest, OAuthError, unauthorizedClient, unsupportedGrantType } from './oauth-error.js';
import { grantScopes, parseScope } from './scope.js';
import { certificateConfirmation, checkClientCertificate, type ClientCertificate, type TokenConfirmation } from './mtls.js';

export interface TokenRequest {
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string | undefined;
  /** The client certificate of the request (TLS connection or trusted proxy), if any: RFC 8705. */
  readonly clientCertificate?: ClientCertificate;
}

export type AuthenticationResult =
  | { readonly ok: true; readonly client: Client }
  | { readonly ok: false; readonly reason: 'unknown_client' | 'wrong_secret' | 'disabled' };

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
  /** ISO-8601 UTC with milliseconds, equal to the token's `exp`. */
  readonly expiresAt: string;
  readonly scope: string;
}

export interface TokenEndpointDeps {
  authenticateClient(credentials: BasicCredentials): Promise<AuthenticationResult>;
  issueToken(client: Client, scopes: readonly string[], confirmation?: TokenConfirmation): IssuedToken;
  /** RFC 8705 tls_client_auth: the client named by client_id, no secret. Absent: the method is refused. */
  authenticateClientByCertificate?(clientId: string): Promise<AuthenticationResult>;
  /** The contract types expires_in as a string; RFC 6749 clients want a number. */
  readonly expiresInFormat: 'string' | 'number';
}

export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer';
  expires_in: string | number;
  scope?: string;
  expires_at: string;
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

/**
 * Step 4: where the credentials are. RFC 6749 §2.3.1: "The client MUST NOT use more than one
 * authentication method in each request." A secret in the body next to the header is refused;
 * a client_id in the body is tolerated only when it names the same client.
 */
export function extractCredentials(request: TokenRequest, params: Params): BasicCredentials {
  const bodySecret = params.get('client_secret');
  const bodyClientId = params.get('client_id');
  if (request.authorization === undefined) {
    if (bodySecret !== undefined) throw invalidClient('client_secret_post is not supported: use HTTP Basic');
    throw invalidClient('no client credentials');
  }
  if (bodySecret !== undefined) throw invalidRequest('client credentials were sent both in the header and in the body');
  const credentials = parseBasicAuthorization(request.authorization);
  if (bodyClientId !== undefined && bodyClientId !== credentials.clientId) {
    throw invalidRequest('client_id in the body differs from the authenticated client');
  }
  return credentials;
}

/**
 * Step 4 bis: RFC 8705 §2: "For all requests to the authorization server utilizing mutual-TLS client
 * authentication, the client MUST include the client_id parameter". No Authorization header, no
 * client_secret, a client_id and a client certificate: tls_client_auth.
 */
export function usesTlsClientAuth(request: TokenRequest, params: Params): boolean {
  return request.authorization === undefined && request.clientCertificate !== undefined && !params.has('client_secret') && params.has('client_id');
}

/** Step 5 (tls_client_auth): the client named in the body; its certificate is checked in step 5 bis. */
export async function authenticateWithCertificate(params: Params, deps: TokenEndpointDeps): Promise<Client> {
  const clientId = params.get('client_id')!;
  if (!deps.authenticateClientByCertificate) throw invalidClient('tls_client_auth is not enabled');
  const result = await deps.authenticateClientByCertificate(clientId);
  if (!result.ok) throw invalidClient(`${result.reason} (tls_client_auth, client_id ${clientId.slice(0, 128)})`);
  return result.client;
}

/** Step 5: client authentication. Every failure is the same invalid_client; the reason is logged only. */
export async function authenticate(credentials: BasicCredentials, deps: TokenEndpointDeps): Promise<Client> {
  const result = await deps.authenticateClient(credentials);
  if (!result.ok) throw invalidClient(`${result.reason} (client_id ${credentials.clientId.slice(0, 128)})`);
  return result.client;
}

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
export function issue(client: Client, scopes: readonly string[], deps: TokenEndpointDeps, confirmation?: TokenConfirmation): TokenResponseBody {
  const token = confirmation ? deps.issueToken(client, scopes, confirmation) : deps.issueToken(client, scopes);
  const body: TokenResponseBody = {
    access_token: token.accessToken,
    token_type: 'Bearer',
    expires_in: deps.expiresInFormat === 'number' ? token.expiresIn : String(token.expiresIn),
    expires_at: token.expiresAt,
  };
  if (token.scope !== '') body.scope = token.scope;
  return body;
}

export async function handleTokenRequest(request: TokenRequest, deps: TokenEndpointDeps): Promise<TokenSuccess> {
  const params = readParameters(request);
  checkGrantType(params);
  const tlsClientAuth = usesTlsClientAuth(request, params);
  const client = tlsClientAuth ? await authenticateWithCertificate(params, deps) : await authenticate(extractCredentials(request, params), deps);
  // Step 5 bis: RFC 8705 §2 method and certificate binding (protocol/mtls.ts).
  checkClientCertificate(client, tlsClientAuth ? 'tls_client_auth' : 'client_secret_basic', request.clientCertificate);
  checkClientGrant(client);
  const scopes = resolveScope(params, client);
  return { client, body: issue(client, scopes, deps, certificateConfirmation(client, request.clientCertificate)) };
}

export { OAuthError };
