/**
 * Client authentication, the same at every endpoint where a client authenticates: the token
 * endpoint, introspection, revocation and the revocation feed. One place decides the method
 * (the registry in client-auth/: HTTP Basic, or RFC 8705 tls_client_auth) and checks the certificate
 * binding, so a secret that leaks without its certificate is worth nothing anywhere, not only at the
 * token endpoint.
 */
import type { Client } from '../model/client.js';
import { lockoutAddress } from '../domain/lockout/lockout-address.js';
import { parseBasicAuthorization } from './basic-auth.js';
import type { BasicCredentials } from '../model/client-authentication.js';
import { presentsBoundCertificate, type ClientCertificate } from '../model/client-certificate.js';
import { checkClientCertificate } from './mtls.js';
import { invalidClient, OAuthError } from './oauth-error.js';
import type { RequestOrigin } from '../domain/audit/request-audit.js';
import { presentedAuthMethod } from './client-auth/index.js';
import { reportFailure, reporting } from './client-auth/failure-report.js';
import { authenticateWithSecret, clientSecretBasic } from './client-auth/client-secret-basic.js';
import type { AttemptSource, ClientAuthenticationDeps, ClientAuthMethod, ClientRequest, FormParams, PresentedCredentials } from './client-auth/method.js';

export type { AttemptSource, AuthenticationResult, ClientAuthenticationDeps, ClientRequest } from './client-auth/method.js';
export { authenticateWithSecret, extractCredentials } from './client-auth/client-secret-basic.js';
export { authenticateWithCertificate, usesTlsClientAuth } from './client-auth/tls-client-auth.js';

/**
 * The lockout's two points on the way: before anything is verified (a locked-out attempt is refused
 * without its slow hash), and after a failure (counted). Nothing here when no lockout is wired.
 */
async function guarded(
  deps: ClientAuthenticationDeps,
  request: Pick<ClientRequest, 'sourceAddress' | 'clientCertificate'>,
  presented: () => PresentedCredentials,
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

/** No method's credentials in the request: say which is missing (the log only; the answer is invalid_client). */
function refuseMissingCredentials(params: FormParams): never {
  if (params.has('client_secret')) throw invalidClient('client_secret_post is not supported: use HTTP Basic');
  throw invalidClient('no client credentials');
}

/** The method's credentials, then its verification and, for every method alike, RFC 8705 method and binding. */
function authenticateWith(method: ClientAuthMethod, request: ClientRequest, params: FormParams, deps: ClientAuthenticationDeps): Promise<Client> {
  const { origin } = request;
  let credentials: PresentedCredentials | undefined;
  return guarded(deps, request, () => (credentials = method.credentials(request, params, deps)), async (source) => {
    const client = await method.authenticate(credentials!, deps, source, origin);
    reporting(deps, origin, () => ['certificate_mismatch', client.clientId, true], () => checkClientCertificate(client, method.method, request.clientCertificate));
    return client;
  });
}

/**
 * The client of a form POST, by the method it used, then RFC 8705 §2 method and certificate binding
 * (protocol/mtls.ts): a client registered for tls_client_auth cannot fall back to a secret, and a
 * client bound to a certificate must present it with its secret.
 */
export async function authenticateClient(request: ClientRequest, params: FormParams, deps: ClientAuthenticationDeps): Promise<Client> {
  const method = presentedAuthMethod(request, params);
  if (method) return authenticateWith(method, request, params, deps);
  const missing = () => reporting(deps, request.origin, () => ['missing_credentials', params.get('client_id'), false], () => refuseMissingCredentials(params));
  // Nothing to verify: the refusal comes where credentials would be read, inside the lockout's count.
  return guarded(deps, request, missing, missing);
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
    reporting(deps, origin, () => ['certificate_mismatch', client.clientId, true], () => checkClientCertificate(client, clientSecretBasic.method, clientCertificate));
    return client;
  });
}
