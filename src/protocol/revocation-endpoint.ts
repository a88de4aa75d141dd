/** The revocation endpoint (RFC 7009 §2): parse, authenticate, revoke; always 200 once authenticated. */
import type { Client } from '../model/client.js';
import { requireToken } from './caller-authentication.js';
import { authenticateClient, type ClientAuthenticationDeps, type ClientRequest } from './client-authentication.js';
import { readParameters } from './token-endpoint.js';
import type { RequestOrigin } from '../domain/audit/request-audit.js';

export interface RevocationEndpointDeps extends ClientAuthenticationDeps {
  /** Revokes the token when it was issued to `client`; returns what happened, for the log. */
  revokeToken(client: Client, token: string, origin?: RequestOrigin): Promise<string>;
}

export interface RevocationResult {
  readonly client: Client;
  readonly outcome: string;
}

/**
 * RFC 7009 §2.1: "The client also includes its authentication credentials as described in Section 2.3
 * of [RFC6749]". §2.2: "The authorization server responds with HTTP status code 200 if the token has
 * been revoked successfully or if the client submitted an invalid token." A token of another client is
 * left alone and answered the same way: the caller cannot tell it apart from an invalid one.
 * `token_type_hint` is ignored (§2.1: the server "MUST extend its search across all of its supported
 * token types"; we issue access tokens only, so there is nothing to search).
 */
export async function handleRevocationRequest(request: ClientRequest, deps: RevocationEndpointDeps): Promise<RevocationResult> {
  const params = readParameters(request);
  const client = await authenticateClient(request, params, deps);
  const token = requireToken(params);
  return { client, outcome: await deps.revokeToken(client, token, request.origin) };
}
