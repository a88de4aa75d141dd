/**
 * Client authentication, the same at every endpoint where a client authenticates: the token
 * endpoint, introspection, revocation and the revocation feed. One place decides the method
 * (HTTP Basic, or RFC 8705 tls_client_auth) and checks the certificate binding, so a secret that
 * leaks without its certificate is worth nothing anywhere, not only at the token endpoint.
 */
import type { Client, TokenEndpointAuthMethod } from '../domain/clients/client.js';
import { parseBasicAuthorization, type BasicCredentials } from './basic-auth.js';
import { checkClientCertificate, type ClientCertificate } from './mtls.js';
import { invalidClient, invalidRequest } from './oauth-error.js';

/** What the HTTP layer hands in for a form-encoded POST by a client. */
export interface ClientRequest {
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string | undefined;
  /** The client certificate of the request (TLS connection or trusted proxy), if any: RFC 8705. */
  readonly clientCertificate?: ClientCertificate;
}

export type AuthenticationResult =
  | { readonly ok: true; readonly client: Client }
  | { readonly ok: false; readonly reason: 'unknown_client' | 'wrong_secret' | 'disabled' | 'control_characters' };

export interface ClientAuthenticationDeps {
  authenticateClient(credentials: BasicCredentials): Promise<AuthenticationResult>;
  /** RFC 8705 tls_client_auth: the client named by client_id, no secret. Absent: the method is refused. */
  authenticateClientByCertificate?(clientId: string): Promise<AuthenticationResult>;
}

type Params = ReadonlyMap<string, string>;

/**
 * Where the credentials are. RFC 6749 §2.3.1: "The client MUST NOT use more than one
 * authentication method in each request." A secret in the body next to the header is refused;
 * a client_id in the body is tolerated only when it names the same client.
 */
export function extractCredentials(request: ClientRequest, params: Params): BasicCredentials {
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
 * RFC 8705 §2: "For all requests to the authorization server utilizing mutual-TLS client
 * authentication, the client MUST include the client_id parameter". No Authorization header, no
 * client_secret, a client_id and a client certificate: tls_client_auth.
 */
export function usesTlsClientAuth(request: ClientRequest, params: Params): boolean {
  return request.authorization === undefined && request.clientCertificate !== undefined && !params.has('client_secret') && params.has('client_id');
}

/** tls_client_auth: the client named in the body; its certificate is checked by checkClientCertificate. */
export async function authenticateWithCertificate(clientId: string, deps: ClientAuthenticationDeps): Promise<Client> {
  if (!deps.authenticateClientByCertificate) throw invalidClient('tls_client_auth is not enabled');
  const result = await deps.authenticateClientByCertificate(clientId);
  if (!result.ok) throw invalidClient(`${result.reason} (tls_client_auth, client_id ${clientId.slice(0, 128)})`);
  return result.client;
}

/** client_secret_basic. Every failure is the same invalid_client; the reason is logged only. */
export async function authenticateWithSecret(credentials: BasicCredentials, deps: ClientAuthenticationDeps): Promise<Client> {
  const result = await deps.authenticateClient(credentials);
  if (!result.ok) throw invalidClient(`${result.reason} (client_id ${credentials.clientId.slice(0, 128)})`);
  return result.client;
}

/**
 * The client of a form POST, by the method it used, then RFC 8705 §2 method and certificate binding
 * (protocol/mtls.ts): a client registered for tls_client_auth cannot fall back to a secret, and a
 * client bound to a certificate must present it with its secret.
 */
export async function authenticateClient(request: ClientRequest, params: Params, deps: ClientAuthenticationDeps): Promise<Client> {
  const method: TokenEndpointAuthMethod = usesTlsClientAuth(request, params) ? 'tls_client_auth' : 'client_secret_basic';
  const client =
    method === 'tls_client_auth'
      ? await authenticateWithCertificate(params.get('client_id')!, deps)
      : await authenticateWithSecret(extractCredentials(request, params), deps);
  checkClientCertificate(client, method, request.clientCertificate);
  return client;
}

/** The client of a GET (no body to carry a client_id): HTTP Basic, with the same certificate binding. */
export async function authenticateHeaderClient(
  authorization: string | undefined,
  clientCertificate: ClientCertificate | undefined,
  deps: ClientAuthenticationDeps,
): Promise<Client> {
  if (authorization === undefined) throw invalidClient('no client credentials');
  const client = await authenticateWithSecret(parseBasicAuthorization(authorization), deps);
  checkClientCertificate(client, 'client_secret_basic', clientCertificate);
  return client;
}
