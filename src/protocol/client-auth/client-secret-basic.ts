/** client_secret_basic (RFC 6749 §2.3.1): the client id and secret in `Authorization: Basic`. */
import type { Client } from '../../model/client.js';
import type { RequestOrigin } from '../../domain/audit/request-audit.js';
import { parseBasicAuthorization } from '../basic-auth.js';
import type { BasicCredentials } from '../../model/client-authentication.js';
import { invalidClient, invalidRequest } from '../oauth-error.js';
import { reporting, reportRefusal } from './failure-report.js';
import type { AttemptSource, ClientAuthenticationDeps, ClientAuthMethod, FormParams } from './method.js';

/**
 * Where the credentials are. RFC 6749 §2.3.1: "The client MUST NOT use more than one
 * authentication method in each request." A secret in the body next to the header is refused;
 * a client_id in the body is tolerated only when it names the same client.
 */
export function extractCredentials(authorization: string, params: FormParams): BasicCredentials {
  if (params.has('client_secret')) throw invalidRequest('client credentials were sent both in the header and in the body');
  const credentials = parseBasicAuthorization(authorization);
  const bodyClientId = params.get('client_id');
  if (bodyClientId !== undefined && bodyClientId !== credentials.clientId) {
    throw invalidRequest('client_id in the body differs from the authenticated client');
  }
  return credentials;
}

/** client_secret_basic. Every failure is the same invalid_client; the reason is logged only. */
export async function authenticateWithSecret(credentials: BasicCredentials, deps: ClientAuthenticationDeps, source?: AttemptSource, origin?: RequestOrigin): Promise<Client> {
  const result = await (source ? deps.authenticateClient(credentials, source) : deps.authenticateClient(credentials));
  if (!result.ok) {
    reportRefusal(deps, origin, result.reason, credentials.clientId);
    throw invalidClient(`${result.reason} (client_id ${credentials.clientId.slice(0, 128)})`);
  }
  return result.client;
}

export const clientSecretBasic: ClientAuthMethod<'client_secret_basic', BasicCredentials> = {
  method: 'client_secret_basic',
  needsClientCertificate: false,
  presented: (request) => request.authorization !== undefined,
  credentials: (request, params, deps) =>
    reporting(deps, request.origin, () => ['malformed_credentials', params.get('client_id'), false], () => extractCredentials(request.authorization!, params)),
  authenticate: authenticateWithSecret,
};
