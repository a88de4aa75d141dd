/**
 * The grants of the token endpoint, in the order the metadata lists them (RFC 8414
 * grant_types_supported).
 *
 * To add a grant: one module beside client-credentials.ts that exports a Grant, its entry in
 * GRANTS, and its name in GrantType (model/client.ts: what a client is registered for,
 * kept by the store). The compiler asks for the entry once the name exists; the dispatch, the
 * metadata and the unsupported_grant_type message follow from here.
 */
import type { GrantType } from '../../model/client.js';
import type { FormParams } from '../client-auth/method.js';
import { invalidRequest, unsupportedGrantType } from '../oauth-error.js';
import { clientCredentials } from './client-credentials.js';
import type { Grant } from './grant.js';

const GRANTS: { readonly [G in GrantType]: Grant<G> } = {
  client_credentials: clientCredentials,
};

export const GRANT_REGISTRY: readonly Grant[] = Object.values(GRANTS);

/** RFC 8414 grant_types_supported. */
export function supportedGrantTypes(grants: readonly Grant[] = GRANT_REGISTRY): readonly GrantType[] {
  return grants.map((g) => g.grantType);
}

/**
 * RFC 6749 §4.4.2 "grant_type REQUIRED. Value MUST be set to client_credentials.", and the same of
 * each grant's own value: §5.2 unsupported_grant_type for a value no grant here handles.
 */
export function grantOf(params: FormParams, grants: readonly Grant[] = GRANT_REGISTRY): Grant {
  const grantType = params.get('grant_type');
  if (grantType === undefined) throw invalidRequest('grant_type is required');
  const grant = grants.find((g) => g.grantType === grantType);
  if (!grant) throw unsupportedGrantType(supportedGrantTypes(grants), `grant_type ${grantType.slice(0, 32)}`);
  return grant;
}

/** The request's parameters the grant declares (RFC 6749 §3.2: the others are ignored). */
export function grantParameters(grant: Grant, params: FormParams): FormParams {
  return new Map(grant.parameters.flatMap((name) => (params.has(name) ? [[name, params.get(name)!] as const] : [])));
}
