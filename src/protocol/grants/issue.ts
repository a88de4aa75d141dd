/** The last step of every grant that issues an access token: sign it and shape the answer (RFC 6749 §5.1). */
import type { Client } from '../../model/client.js';
import type { RequestOrigin } from '../../domain/audit/request-audit.js';
import type { TokenConfirmation } from '../../model/client-certificate.js';
import type { TokenEndpointDeps, TokenResponseBody } from './grant.js';

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
