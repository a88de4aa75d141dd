/**
 * The one serializer of the server's and the gateway's error answers: the RFC 6749 §5.2 JSON body
 * (`error` first, then `error_description`) and the challenges. The guard writes its answers with the
 * same code (packages/guard/src/error-body.ts, a leaf that imports nothing from here); test/errors/
 * checks that both write the same bytes.
 */

/**
 * RFC 6750 §3 restricts `error_description` to %x20-21 / %x23-5B / %x5D-7E. We keep printable
 * ASCII only (dropping controls, which also rules out header injection) and backslash-escape `"`
 * and `\` so the value is always a valid RFC 9110 quoted-string.
 */
export function quoteHeaderValue(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '');
  return `"${printable.replace(/["\\]/g, '\\$&')}"`;
}

/** `{"error":...,"error_description":...}`, in that order. */
export function errorBody(error: string, description: string): string {
  return JSON.stringify({ error, error_description: description });
}

export interface BearerChallenge {
  readonly realm: string;
  readonly error?: string;
  readonly description?: string;
  /** RFC 6750 §3: for insufficient_scope, the scope the request needed. */
  readonly scope?: string;
}

/** RFC 6750 §3 `WWW-Authenticate: Bearer` value, attributes in the order realm, error, error_description, scope. */
export function bearerChallenge(challenge: BearerChallenge): string {
  const parts = [`realm=${quoteHeaderValue(challenge.realm)}`];
  if (challenge.error !== undefined) parts.push(`error=${quoteHeaderValue(challenge.error)}`);
  if (challenge.description !== undefined) parts.push(`error_description=${quoteHeaderValue(challenge.description)}`);
  if (challenge.scope !== undefined) parts.push(`scope=${quoteHeaderValue(challenge.scope)}`);
  return `Bearer ${parts.join(', ')}`;
}

/**
 * RFC 6749 §5.2 / RFC 7617: the challenge of a 401 invalid_client. The realm is the operator's
 * setting and is written as configured (the answer has always carried it so).
 */
export function basicChallenge(realm: string): string {
  return `Basic realm="${realm}", charset="UTF-8"`;
}
