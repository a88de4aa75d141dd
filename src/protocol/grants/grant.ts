/**
 * What a grant is (the registry is ./index.ts) and what every grant is handed: the authenticated
 * client, its own parameters of the request, and the token endpoint's dependencies.
 */
import type { Client, GrantType } from '../../model/client.js';
import type { RequestOrigin } from '../../domain/audit/request-audit.js';
import type { ClientAuthenticationDeps, ClientRequest, FormParams } from '../client-auth/method.js';
import type { TokenConfirmation } from '../../model/client-certificate.js';
import type { IssuedToken } from '../../model/issued-token.js';

export type { IssuedToken };

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

/** A token request past the common steps: its client is authenticated and registered for the grant. */
export interface GrantRequest {
  readonly client: Client;
  /** Only the parameters the grant declares: one that reads another gets nothing. */
  readonly params: FormParams;
  readonly request: TokenRequest;
}

export interface Grant<G extends GrantType = GrantType> {
  /** The grant_type value (RFC 6749 §4, or an extension grant's URI, §4.5). */
  readonly grantType: G;
  /** The form parameters the grant reads, besides grant_type and client authentication's. */
  readonly parameters: readonly string[];
  handle(grant: GrantRequest, deps: TokenEndpointDeps): Promise<TokenResponseBody>;
}
