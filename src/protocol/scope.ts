import { isValidScopeString } from '../model/scope.js';
import { invalidScope } from './oauth-error.js';

/** Parses a scope parameter into distinct tokens, in request order. Throws invalid_scope. */
export function parseScope(scope: string): string[] {
  if (!isValidScopeString(scope)) throw invalidScope('the scope parameter is malformed');
  return [...new Set(scope.split(' '))];
}

export interface ScopePolicy {
  readonly allowedScopes: readonly string[];
  readonly defaultScopes: readonly string[];
}

/**
 * RFC 6749 §3.3: "If the client omits the scope parameter when requesting authorization,
 * the authorization server MUST either process the request using a pre-defined default value
 * or fail the request indicating an invalid scope." We use the client's default scopes.
 * Any requested scope outside the allowed set fails the whole request (no silent narrowing:
 * D1 should learn of a misconfiguration at once, not at the API call).
 */
export function grantScopes(requested: readonly string[] | undefined, policy: ScopePolicy): readonly string[] {
  if (requested === undefined) return policy.defaultScopes;
  for (const scope of requested) {
    if (!policy.allowedScopes.includes(scope)) {
      throw invalidScope('a requested scope is not allowed for this client', `scope ${scope.slice(0, 64)} not allowed`);
    }
  }
  return requested;
}
