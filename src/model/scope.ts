// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), joined by single spaces.
const TOKEN = '[\\x21\\x23-\\x5B\\x5D-\\x7E]+';
/** No `g` flag: safe to share, test() keeps no state. */
export const SCOPE_TOKEN = new RegExp(`^${TOKEN}$`);
const SCOPE = new RegExp(`^${TOKEN}(?: ${TOKEN})*$`);

/** One scope-token (a scope a client may be allowed, or a gateway route may require). */
export function isValidScopeToken(token: string): boolean {
  return SCOPE_TOKEN.test(token);
}

/** A whole scope parameter: scope-tokens separated by single spaces. */
export function isValidScopeString(scope: string): boolean {
  return SCOPE.test(scope);
}
