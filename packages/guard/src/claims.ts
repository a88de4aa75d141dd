/**
 * RFC 9068 access-token claim checks for the guard. The order of the checks and the error
 * descriptions are those the guard gave when jose's jwtVerify did this part (presence, iss, aud,
 * iat type, nbf, exp), followed by the guard's own checks; the time semantics are jose's too.
 */

export interface ClaimRules {
  /** Expected `iss`, exact. */
  readonly issuer: string;
  /** `aud` must contain one of these. */
  readonly audiences: readonly string[];
  /** Seconds of leeway for nbf, exp and iat. */
  readonly clockTolerance: number;
}

// RFC 9068 §2.2 marks iss, exp, aud, sub, client_id and iat REQUIRED (and jti, which this guard
// does not use). Listed in the order jose reported a missing one.
const REQUIRED = ['iss', 'aud', 'client_id', 'sub', 'iat', 'exp'] as const;


function audienceMatches(aud: unknown, audiences: readonly string[]): boolean {
  // RFC 7519 §4.1.3: "In the general case, the "aud" value is an array of case-sensitive strings
  // [...]. In the special case when the JWT has one audience, the "aud" value MAY be a single
  // case-sensitive string".
  if (typeof aud === 'string') return audiences.includes(aud);
  return Array.isArray(aud) && audiences.some((a) => aud.includes(a));
}

/**
 * undefined if `claims` (the verified payload, a JSON object) is an acceptable access token at
 * `nowMs`; otherwise the public error description.
 */
export function claimsProblem(claims: Record<string, unknown>, rules: ClaimRules, nowMs: number): string | undefined {
  for (const name of REQUIRED) {
    if (!Object.hasOwn(claims, name)) return `missing "${name}" claim`;
  }
  const { iss, aud, iat, nbf, exp, client_id: clientId, sub, scope } = claims;
  // RFC 9068 §4: "The issuer identifier for the authorization server [...] MUST exactly match the
  // value of the "iss" claim."
  if (iss !== rules.issuer) return 'unexpected token issuer';
  // RFC 9068 §4: "The resource server MUST validate that the "aud" claim contains a resource
  // indicator value corresponding to an identifier the resource server expects for itself."
  if (!audienceMatches(aud, rules.audiences)) return 'token not intended for this audience';
  if (typeof iat !== 'number') return 'invalid "iat" claim';

  // jose compares whole seconds of "now" with the tolerance applied on both sides.
  const now = Math.floor(nowMs / 1000);
  const tolerance = rules.clockTolerance;
  // RFC 7519 §4.1.5: "the current date/time MUST be after or equal to the not-before date/time
  // listed in the "nbf" claim." (A non-numeric nbf is reported the same way, as before.)
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + tolerance)) return 'token not yet valid';
  if (typeof exp !== 'number') return 'invalid "exp" claim';
  // RFC 7519 §4.1.4: "the current date/time MUST be before the expiration date/time listed in the
  // "exp" claim. Implementers MAY provide for some small leeway".
  if (exp <= now - tolerance) return 'token expired';

  if (typeof clientId !== 'string' || clientId === '') return 'invalid "client_id" claim';
  if (typeof sub !== 'string' || sub === '') return 'invalid "sub" claim';
  if (iat > nowMs / 1000 + tolerance) return 'token issued in the future';
  // RFC 8693 §4.2: "The value of the "scope" claim is a JSON string containing a space-separated
  // list of scopes".
  if (scope !== undefined && typeof scope !== 'string') return 'invalid "scope" claim';
  return undefined;
}
