/**
 * The introspection endpoint (RFC 7662), as ordered steps like the token endpoint: parse the
 * request, authenticate the caller, check its permission, inspect the token, shape the answer.
 */
import type { Client } from '../model/client.js';
import type { AccessTokenClaims } from '../model/access-token-claims.js';
import { requireIntrospectPermission, requireToken } from './caller-authentication.js';
import { authenticateClient, type ClientAuthenticationDeps, type ClientRequest } from './client-authentication.js';
import { readParameters } from './token-endpoint.js';

/** The claims of one of our own tokens, as the token verifier reads them. */
export type IntrospectedClaims = AccessTokenClaims;

export type Inspection = { readonly active: true; readonly claims: IntrospectedClaims } | { readonly active: false; readonly reason: string };

export interface IntrospectionEndpointDeps extends ClientAuthenticationDeps {
  inspectToken(token: string): Promise<Inspection>;
}

export type IntrospectionResponseBody =
  | { active: false }
  | {
      active: true;
      client_id: string;
      sub: string;
      scope?: string;
      exp: number;
      iat: number;
      iss: string;
      aud: string | readonly string[];
      jti: string;
      token_type: 'Bearer';
      cnf?: Readonly<Record<string, unknown>>;
    };

export interface IntrospectionResult {
  readonly client: Client;
  readonly body: IntrospectionResponseBody;
  /** Why the token is inactive: logged, never sent. */
  readonly inactiveReason?: string;
}

/**
 * RFC 7662 §2.2: for an inactive token "the authorization server MUST return an introspection
 * response with the "active" field set to "false"" and "SHOULD NOT include any additional information".
 */
export function shapeIntrospection(inspection: Inspection): IntrospectionResponseBody {
  if (!inspection.active) return { active: false };
  const c = inspection.claims;
  const body: IntrospectionResponseBody = {
    active: true,
    client_id: c.client_id,
    sub: c.sub,
    exp: c.exp,
    iat: c.iat,
    iss: c.iss,
    aud: c.aud,
    jti: c.jti,
    token_type: 'Bearer',
  };
  if (c.scope !== undefined && c.scope !== '') body.scope = c.scope;
  // RFC 8705 §3.2: the introspection response of a certificate-bound token carries its cnf.
  if (c.cnf !== undefined) body.cnf = c.cnf;
  return body;
}

export async function handleIntrospectionRequest(request: ClientRequest, deps: IntrospectionEndpointDeps): Promise<IntrospectionResult> {
  const params = readParameters(request);
  const client = await authenticateClient(request, params, deps);
  requireIntrospectPermission(client);
  const token = requireToken(params);
  // RFC 7662 §2.1 token_type_hint is OPTIONAL and we hold one token type only: it is ignored.
  const inspection = await deps.inspectToken(token);
  return { client, body: shapeIntrospection(inspection), inactiveReason: inspection.active ? undefined : inspection.reason };
}
