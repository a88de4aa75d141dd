/** The guard's error codes (the server's error table and the README's list them too; a test checks they agree). */
import type { ErrorCode } from './error-family.js';

export interface ErrorCodeEntry {
  /** HTTP status of the answer, where the error is answered. */
  readonly status?: number;
  /** The `error` of the JSON body (and of the challenge, on 401 and 403). */
  readonly oauthError?: string;
  readonly meaning: string;
}

export const GUARD_ERROR_CODES = {
  ERR_GUARD_NO_CREDENTIALS: { status: 401, oauthError: 'unauthorized', meaning: 'the request carries no access token (bare Bearer challenge, RFC 6750 §3.1)' },
  ERR_GUARD_INVALID_REQUEST: { status: 400, oauthError: 'invalid_request', meaning: 'the Authorization header is malformed' },
  ERR_GUARD_INVALID_TOKEN: { status: 401, oauthError: 'invalid_token', meaning: 'the access token is not valid (signature, issuer, audience, time, binding, revoked)' },
  ERR_GUARD_INSUFFICIENT_SCOPE: { status: 403, oauthError: 'insufficient_scope', meaning: 'the access token lacks a scope the request needs' },
  ERR_GUARD_UNAVAILABLE: { status: 503, oauthError: 'temporarily_unavailable', meaning: 'the guard cannot decide now (no signing keys, revocation status unknown)' },
  ERR_JWKS_UNAVAILABLE: { meaning: 'no key set could be fetched from the JWKS endpoint (answered as ERR_GUARD_UNAVAILABLE)' },
  ERR_JWKS_NO_MATCHING_KEY: { meaning: 'no key of the JWKS fits the token (answered as ERR_GUARD_INVALID_TOKEN)' },
  ERR_JWKS_AMBIGUOUS_KEY: { meaning: 'more than one key of the JWKS fits the token (answered as ERR_GUARD_INVALID_TOKEN)' },
  ERR_INTROSPECTION_FAILED: { meaning: 'the introspection endpoint could not be asked or gave no usable answer' },
  ERR_REVOCATION_FEED: { meaning: 'the revocation feed is not loaded, stale, or answered badly' },
} as const satisfies Record<ErrorCode, ErrorCodeEntry>;

export type GuardErrorCodeName = keyof typeof GUARD_ERROR_CODES;
