/** tls_client_auth (RFC 8705 §2.1): the client named by client_id proves itself with its certificate, no secret. */
import type { Client } from '../../model/client.js';
import type { RequestOrigin } from '../../domain/audit/request-audit.js';
import { invalidClient } from '../oauth-error.js';
import { reportFailure, reportRefusal } from './failure-report.js';
import type { ClientAuthenticationDeps, ClientAuthMethod, ClientRequest, FormParams } from './method.js';

/**
 * RFC 8705 §2: "For all requests to the authorization server utilizing mutual-TLS client
 * authentication, the client MUST include the client_id parameter". No Authorization header, no
 * client_secret, a client_id and a client certificate: tls_client_auth.
 */
export function usesTlsClientAuth(request: ClientRequest, params: FormParams): boolean {
  return request.authorization === undefined && request.clientCertificate !== undefined && !params.has('client_secret') && params.has('client_id');
}

/** tls_client_auth: the client named in the body; its certificate is checked by checkClientCertificate. */
export async function authenticateWithCertificate(clientId: string, deps: ClientAuthenticationDeps, origin?: RequestOrigin): Promise<Client> {
  if (!deps.authenticateClientByCertificate) {
    // A certificate and a client_id, but no credentials of a method this server accepts; the id is not looked up.
    reportFailure(deps, origin, 'missing_credentials', clientId, false);
    throw invalidClient('tls_client_auth is not enabled');
  }
  const result = await deps.authenticateClientByCertificate(clientId);
  if (!result.ok) {
    reportRefusal(deps, origin, result.reason, clientId);
    throw invalidClient(`${result.reason} (tls_client_auth, client_id ${clientId.slice(0, 128)})`);
  }
  return result.client;
}

export const tlsClientAuth: ClientAuthMethod<'tls_client_auth', { readonly clientId: string }> = {
  method: 'tls_client_auth',
  needsClientCertificate: true,
  presented: usesTlsClientAuth,
  // presented() saw the client_id; the certificate itself is matched after authentication, as for every method.
  credentials: (_request, params) => ({ clientId: params.get('client_id')! }),
  // The certificate, not a secret, is verified: no slow hash to queue, so the attempt source is not needed.
  authenticate: (credentials, deps, _source, origin) => authenticateWithCertificate(credentials.clientId, deps, origin),
};
