/**
 * RFC 6750 §2.1 Authorization Request Header Field:
 *
 *   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *   credentials = "Bearer" 1*SP b64token
 *
 * The scheme is case-insensitive (RFC 9110 §11.1). Credentials of another scheme (Basic, DPoP, ...)
 * are `other-scheme`, not `invalid`: RFC 6750 §3.1 counts a request "attempted using an unsupported
 * authentication method" as one that "lacks any authentication information".
 */

export type ParsedAuthorization =
  | { kind: 'missing' }
  | { kind: 'bearer'; token: string }
  | { kind: 'other-scheme' }
  | { kind: 'invalid'; reason: string };

const CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/;
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export function parseAuthorization(header: string | readonly string[] | undefined): ParsedAuthorization {
  if (header === undefined) return { kind: 'missing' };
  if (typeof header !== 'string') {
    if (header.length === 0) return { kind: 'missing' };
    if (header.length > 1) return { kind: 'invalid', reason: 'multiple Authorization headers' };
    return parseAuthorization(header[0]);
  }
  // Leading/trailing OWS is not part of the field value (RFC 9110 §5.5); node already strips it.
  const value = header.trim();
  if (value === '') return { kind: 'missing' };
  // The usual case, "Bearer <token>", without the general grammar's pass over the whole token:
  // it runs on every request, cache hits included, and the token is scanned once below anyway.
  if (value.length > 7 && value.charCodeAt(6) === 32 && value.slice(0, 6).toLowerCase() === 'bearer') {
    let start = 7;
    while (value.charCodeAt(start) === 32) start++;
    const token = value.slice(start);
    if (!B64TOKEN.test(token)) return { kind: 'invalid', reason: 'malformed bearer token' };
    return { kind: 'bearer', token };
  }
  const match = CREDENTIALS.exec(value);
  if (!match) return { kind: 'invalid', reason: 'malformed Authorization header' };
  const scheme = match[1] ?? '';
  const rest = match[2] ?? '';
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'other-scheme' };
  if (rest === '') return { kind: 'invalid', reason: 'missing bearer token' };
  if (!B64TOKEN.test(rest)) return { kind: 'invalid', reason: 'malformed bearer token' };
  return { kind: 'bearer', token: rest };
}
