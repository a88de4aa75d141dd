/**
 * Client authentication, the same at every endpoint where a client authenticates: the token
 * endpoint, introspection, revocation and the revocation feed. One place decides the method
 * (HTTP Basic, or RFC 8705 tls_client_auth) and checks the certificate binding, so a secret that
 * leaks without its certificate is worth nothing anywhere, not only at the token endpoint.
 */
import type { Client, TokenEndpointAuthMethod } from '../model/client.js';
import type { Attempt, FailedAttempt } from '../domain/lockout/attempt.js';
import { lockoutAddress } from '../domain/lockout/lockout-address.js';
import type { AttemptSource, AuthenticationResult, BasicCredentials } from '../model/client-authentication.js';
import { parseBasicAuthorization } from './basic-auth.js';
import { presentsBoundCertificate, type ClientCertificate } from '../model/client-certificate.js';
import { checkClientCertificate } from './mtls.js';
import { invalidClient, invalidRequest, OAuthError } from './oauth-error.js';
import type { AuthenticationFailure, AuthenticationFailureReason, RequestOrigin } from '../domain/audit/request-audit.js';

/** What the HTTP layer hands in for a form-encoded POST by a client. */
export interface ClientRequest {
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string | undefined;
  /** The client certificate of the request (TLS connection or trusted proxy), if any: RFC 8705. */
  readonly clientCertificate?: ClientCertificate;
  /** Where the request comes from (http/source-address.ts): what the lockout and the hash queue key on. */
  readonly sourceAddress?: string;
  /** The peer (and trusted proxy's forwarded) address and the correlation id: for the audit trail and the log. */
  readonly origin?: RequestOrigin;
}

export interface ClientAuthenticationDeps {
  authenticateClient(credentials: BasicCredentials, source?: AttemptSource): Promise<AuthenticationResult>;
  /** RFC 8705 tls_client_auth: the client named by client_id, no secret. Absent: the method is refused. */
  authenticateClientByCertificate?(clientId: string): Promise<AuthenticationResult>;
  /** Brute-force lockout (domain/lockout): throws when the attempt is refused before it is verified. */
  admitAttempt?(attempt: Attempt): Promise<void>;
  /** Told of every failed client authentication (invalid_client), so the lockout can count it. */
  authenticationFailed?(attempt: FailedAttempt): Promise<void>;
  /** Told of every failed client authentication (audit trail, warn log line, per-client counter). */
  onAuthenticationFailure?(failure: AuthenticationFailure): void;
}

type RefusedReason = Extract<AuthenticationResult, { ok: false }>['reason'];
/** A credential with control characters is never looked up: malformed, and its id says nothing. */
const failureReason = (r: RefusedReason): AuthenticationFailureReason => (r === 'control_characters' ? 'malformed_credentials' : r);
const isKnown = (r: RefusedReason): boolean => r !== 'unknown_client' && r !== 'control_characters';

function reportFailure(deps: ClientAuthenticationDeps, origin: RequestOrigin | undefined, reason: AuthenticationFailureReason, presentedClientId: string | undefined, knownClient: boolean): void {
  deps.onAuthenticationFailure?.({ presentedClientId, reason, knownClient, origin });
}

/** Runs a step that may refuse the client, reporting an invalid_client refusal as `reason`. */
function reporting<T>(deps: ClientAuthenticationDeps, origin: RequestOrigin | undefined, failure: () => [AuthenticationFailureReason, string | undefined, boolean], step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_client') reportFailure(deps, origin, ...failure());
    throw err;
  }
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
export async function authenticateWithCertificate(clientId: string, deps: ClientAuthenticationDeps, origin?: RequestOrigin): Promise<Client> {
  if (!deps.authenticateClientByCertificate) throw invalidClient('tls_client_auth is not enabled');
  const result = await deps.authenticateClientByCertificate(clientId);
  if (!result.ok) {
    reportFailure(deps, origin, failureReason(result.reason), clientId, isKnown(result.reason));
    throw invalidClient(`${result.reason} (tls_client_auth, client_id ${clientId.slice(0, 128)})`);
  }
  return result.client;
}

/** client_secret_basic. Every failure is the same invalid_client; the reason is logged only. */
export async function authenticateWithSecret(credentials: BasicCredentials, deps: ClientAuthenticationDeps, source?: AttemptSource, origin?: RequestOrigin): Promise<Client> {
  const result = await (source ? deps.authenticateClient(credentials, source) : deps.authenticateClient(credentials));
  if (!result.ok) {
    reportFailure(deps, origin, failureReason(result.reason), credentials.clientId, isKnown(result.reason));
    throw invalidClient(`${result.reason} (client_id ${credentials.clientId.slice(0, 128)})`);
  }
  return result.client;
}

/**
 * The lockout's two points on the way: before anything is verified (a locked-out attempt is refused
 * without its slow hash), and after a failure (counted). Nothing here when no lockout is wired.
 */
async function guarded(
  deps: ClientAuthenticationDeps,
  request: Pick<ClientRequest, 'sourceAddress' | 'clientCertificate'>,
  presented: () => { readonly clientId: string | undefined; readonly secret?: string },
  authenticate: (source: AttemptSource | undefined) => Promise<Client>,
): Promise<Client> {
  const address = request.sourceAddress;
  let clientId: string | undefined;
  try {
    const credentials = presented();
    clientId = credentials.clientId;
    if (address !== undefined && clientId !== undefined && deps.admitAttempt) {
      const cert = request.clientCertificate;
      await deps.admitAttempt({
        clientId,
        ...(credentials.secret !== undefined ? { secret: credentials.secret } : {}),
        address,
        ...(cert ? { presentsBoundCertificate: (client: Client) => presentsBoundCertificate(client, cert) } : {}),
      });
    }
    // One queue per address in the hash scheduler, keyed as locks are (an IPv6 host has a whole /64).
    return await authenticate(address === undefined ? undefined : { address: lockoutAddress(address) ?? address });
  } catch (err) {
    if (address !== undefined && err instanceof OAuthError && err.code === 'invalid_client') {
      await deps.authenticationFailed?.(clientId === undefined ? { address } : { address, clientId });
    }
    throw err;
  }
}

/**
 * The client of a form POST, by the method it used, then RFC 8705 §2 method and certificate binding
 * (protocol/mtls.ts): a client registered for tls_client_auth cannot fall back to a secret, and a
 * client bound to a certificate must present it with its secret.
 */
export async function authenticateClient(request: ClientRequest, params: Params, deps: ClientAuthenticationDeps): Promise<Client> {
  const method: TokenEndpointAuthMethod = usesTlsClientAuth(request, params) ? 'tls_client_auth' : 'client_secret_basic';
  const { origin } = request;
  let credentials: BasicCredentials | undefined;
  const presented = () => {
    if (method === 'tls_client_auth') return { clientId: params.get('client_id') };
    credentials = reporting(deps, origin, () => [request.authorization === undefined ? 'missing_credentials' : 'malformed_credentials', params.get('client_id'), false], () => extractCredentials(request, params));
    return credentials;
  };
  return guarded(deps, request, presented, async (source) => {
    const client = credentials ? await authenticateWithSecret(credentials, deps, source, origin) : await authenticateWithCertificate(params.get('client_id')!, deps, origin);
    reporting(deps, origin, () => ['certificate_mismatch', client.clientId, true], () => checkClientCertificate(client, method, request.clientCertificate));
    return client;
  });
}

/** The client of a GET (no body to carry a client_id): HTTP Basic, with the same certificate binding. */
export async function authenticateHeaderClient(
  authorization: string | undefined,
  clientCertificate: ClientCertificate | undefined,
  deps: ClientAuthenticationDeps,
  sourceAddress?: string,
  origin?: RequestOrigin,
): Promise<Client> {
  let credentials: BasicCredentials | undefined;
  const presented = () => {
    if (authorization === undefined) {
      reportFailure(deps, origin, 'missing_credentials', undefined, false);
      throw invalidClient('no client credentials');
    }
    return (credentials = reporting(deps, origin, () => ['malformed_credentials', undefined, false], () => parseBasicAuthorization(authorization)));
  };
  const request = { ...(clientCertificate ? { clientCertificate } : {}), ...(sourceAddress !== undefined ? { sourceAddress } : {}) };
  return guarded(deps, request, presented, async (source) => {
    const client = await authenticateWithSecret(credentials!, deps, source, origin);
    reporting(deps, origin, () => ['certificate_mismatch', client.clientId, true], () => checkClientCertificate(client, 'client_secret_basic', clientCertificate));
    return client;
  });
}
