/** RFC 6749 §4.4, the client credentials grant: the client asks for a token for itself. */
import type { Client } from '../../model/client.js';
import type { FormParams } from '../client-auth/method.js';
import { certificateConfirmation } from '../../model/client-certificate.js';
import { grantScopes, parseScope } from '../scope.js';
import type { Grant } from './grant.js';
import { issue } from './issue.js';

/** RFC 6749 §4.4.2 "scope OPTIONAL. The scope of the access request as described by Section 3.3." */
export function resolveScope(params: FormParams, client: Client): readonly string[] {
  const scope = params.get('scope');
  return grantScopes(scope === undefined ? undefined : parseScope(scope), client);
}

export const clientCredentials: Grant<'client_credentials'> = {
  grantType: 'client_credentials',
  parameters: ['scope'],
  // RFC 8705 §3: a client registered for bound tokens gets the cnf of the certificate it presented.
  handle: ({ client, params, request }, deps) =>
    issue(client, resolveScope(params, client), deps, certificateConfirmation(client, request.clientCertificate), request.origin),
};
