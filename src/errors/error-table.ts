/**
 * Every error code d1-authz has, and what each becomes: the HTTP answer (token listener, admin API,
 * gateway) and the CLI exit code. The error boundaries and the CLI read this table instead of
 * testing classes one by one; the README's "Errors" table lists the same codes (a test checks both
 * ways). Pure data: every layer may import it.
 */
import type { ErrorCode } from './d1authz-error.js';
import { EXIT_FAILED, EXIT_USAGE } from './exit-codes.js';

export interface HttpAnswer {
  readonly status: number;
  /** The `error` of the RFC 6749 §5.2 body. */
  readonly error: string;
  /** Public text sent as `error_description`; without it the error's own (public) description is sent. */
  readonly description?: string;
  /** Seconds for Retry-After, on answers that ask the client to come back. */
  readonly retryAfter?: number;
}

export interface ErrorEntry {
  /** The answer of the token listener (and of every route but the admin API's), if not a 500. */
  readonly http?: HttpAnswer;
  /** The admin API's answer, where it differs from `http`. */
  readonly admin?: HttpAnswer;
  /** The CLI's exit code when a command fails with it (README "Exit codes"). */
  readonly exit: typeof EXIT_FAILED | typeof EXIT_USAGE;
  readonly meaning: string;
}

const UNAVAILABLE = 'the service is temporarily unavailable, retry later';
const unavailable = (retryAfter: number): HttpAnswer => ({ status: 503, error: 'temporarily_unavailable', description: UNAVAILABLE, retryAfter });
const answer = (status: number, error: string): HttpAnswer => ({ status, error });

export const SERVER_ERROR_CODES = {
  // Answers of the token, introspection and revocation endpoints (OAuthError).
  ERR_INVALID_REQUEST: { http: answer(400, 'invalid_request'), exit: EXIT_FAILED, meaning: 'the request is malformed (RFC 6749 §5.2)' },
  ERR_INVALID_CLIENT: { http: answer(401, 'invalid_client'), exit: EXIT_FAILED, meaning: 'client authentication failed; a Basic challenge is sent' },
  ERR_INVALID_GRANT: { http: answer(400, 'invalid_grant'), exit: EXIT_FAILED, meaning: 'the grant is not valid' },
  ERR_UNAUTHORIZED_CLIENT: { http: answer(400, 'unauthorized_client'), exit: EXIT_FAILED, meaning: 'the client may not use this grant type' },
  ERR_UNSUPPORTED_GRANT_TYPE: { http: answer(400, 'unsupported_grant_type'), exit: EXIT_FAILED, meaning: 'the grant type is not supported' },
  ERR_INVALID_SCOPE: { http: answer(400, 'invalid_scope'), exit: EXIT_FAILED, meaning: 'the requested scope is malformed or not allowed for the client' },
  ERR_INVALID_TOKEN: { http: answer(401, 'invalid_token'), exit: EXIT_FAILED, meaning: 'the presented token is not valid' },
  ERR_TEMPORARILY_UNAVAILABLE: { http: unavailable(1), exit: EXIT_FAILED, meaning: 'the server cannot answer now; retry after Retry-After' },
  ERR_SERVER_ERROR: { http: { status: 500, error: 'server_error', description: 'internal error' }, exit: EXIT_FAILED, meaning: 'an unexpected failure; the detail is logged' },
  ERR_METHOD_NOT_ALLOWED: { http: answer(405, 'invalid_request'), exit: EXIT_FAILED, meaning: 'the endpoint does not accept this method; Allow names the one it does' },
  ERR_BODY_TOO_LARGE: { http: { status: 413, error: 'invalid_request', description: 'the request body is too large' }, exit: EXIT_FAILED, meaning: 'the request body is over the limit' },
  ERR_NOT_FOUND: { http: { status: 404, error: 'not_found', description: 'no such resource' }, exit: EXIT_FAILED, meaning: 'no route at this path' },
  ERR_LOCKED_OUT: {
    http: { status: 429, error: 'temporarily_unavailable', description: 'too many failed client authentications from this address, retry later' },
    exit: EXIT_FAILED,
    meaning: 'too many failed client authentications from the address; Retry-After says when the lock ends',
  },
  // The service's own failures, answered 503 with Retry-After.
  ERR_STORE_UNAVAILABLE: { http: unavailable(5), admin: unavailable(5), exit: EXIT_FAILED, meaning: 'the store cannot be read and the client is not in the cache' },
  ERR_NO_SIGNING_KEY: { http: unavailable(1), exit: EXIT_FAILED, meaning: 'no signing key is loaded' },
  ERR_HASH_CAPACITY: { http: unavailable(1), exit: EXIT_FAILED, meaning: 'too many secret verifications are waiting' },
  // The HSM reconnects every second; a couple of seconds lets it come back before the client retries.
  ERR_KEY_UNAVAILABLE: { http: unavailable(2), exit: EXIT_FAILED, meaning: 'the key holder (an HSM) cannot sign right now' },
  ERR_ADMIN_CAPACITY: { admin: unavailable(5), exit: EXIT_FAILED, meaning: 'too many admin token verifications are waiting' },
  // Administration (CLI and admin API).
  ERR_CLIENT_ADMIN: { http: answer(400, 'invalid_request'), admin: answer(400, 'invalid_request'), exit: EXIT_FAILED, meaning: 'a client operation was refused (invalid setting, ...)' },
  ERR_CLIENT_NOT_FOUND: { http: answer(400, 'invalid_request'), admin: answer(404, 'not_found'), exit: EXIT_FAILED, meaning: 'no client with this id' },
  ERR_CLIENT_EXISTS: { http: answer(400, 'invalid_request'), admin: answer(409, 'conflict'), exit: EXIT_FAILED, meaning: 'a client with this id exists already' },
  ERR_CLIENT_CHANGED: { http: answer(400, 'invalid_request'), admin: answer(412, 'precondition_failed'), exit: EXIT_FAILED, meaning: 'the client changed since the version named in If-Match' },
  ERR_CLIENT_TLS_SETTING: { exit: EXIT_FAILED, meaning: 'a client mTLS setting is invalid (reported as ERR_CLIENT_ADMIN)' },
  ERR_DISTINGUISHED_NAME: { exit: EXIT_FAILED, meaning: 'a distinguished name is not in RFC 4514 form' },
  ERR_ADMIN_TOKEN: { admin: answer(400, 'invalid_request'), exit: EXIT_FAILED, meaning: 'an admin token operation was refused' },
  ERR_KEY_ADMIN: { exit: EXIT_FAILED, meaning: 'a signing key operation was refused' },
  ERR_KEY_PROVIDER: { exit: EXIT_FAILED, meaning: 'the key provider cannot be reached, or holds no key of this node' },
  // Answers of the admin API (AdminApiError).
  ERR_ADMIN_INVALID_REQUEST: { admin: answer(400, 'invalid_request'), exit: EXIT_FAILED, meaning: 'the admin request is malformed' },
  ERR_ADMIN_INVALID_TOKEN: { admin: answer(401, 'invalid_token'), exit: EXIT_FAILED, meaning: 'no admin token, or an unknown, revoked or malformed one' },
  ERR_ADMIN_INSUFFICIENT_SCOPE: { admin: answer(403, 'insufficient_scope'), exit: EXIT_FAILED, meaning: 'the admin role may not do this' },
  ERR_ADMIN_NOT_FOUND: { admin: answer(404, 'not_found'), exit: EXIT_FAILED, meaning: 'no such admin resource' },
  ERR_ADMIN_METHOD_NOT_ALLOWED: { admin: answer(405, 'method_not_allowed'), exit: EXIT_FAILED, meaning: 'the admin resource does not accept this method' },
  ERR_ADMIN_CONFLICT: { admin: answer(409, 'conflict'), exit: EXIT_FAILED, meaning: 'the admin resource exists already' },
  ERR_ADMIN_PRECONDITION_FAILED: { admin: answer(412, 'precondition_failed'), exit: EXIT_FAILED, meaning: 'If-Match does not name the current version' },
  ERR_ADMIN_PRECONDITION_REQUIRED: { admin: answer(428, 'precondition_required'), exit: EXIT_FAILED, meaning: 'If-Match is required' },
  ERR_ADMIN_TEMPORARILY_UNAVAILABLE: { admin: unavailable(5), exit: EXIT_FAILED, meaning: 'the admin API cannot answer now' },
  ERR_ADMIN_SERVER_ERROR: { admin: { status: 500, error: 'server_error', description: 'internal error' }, exit: EXIT_FAILED, meaning: 'an unexpected admin API failure; the detail is logged' },
  // The gateway's own answers.
  ERR_UPSTREAM_TIMEOUT: { http: { status: 504, error: 'gateway_timeout', description: 'the upstream service did not answer in time' }, exit: EXIT_FAILED, meaning: 'the gateway\'s upstream did not answer in time' },
  ERR_UPSTREAM_UNAVAILABLE: { http: { status: 502, error: 'bad_gateway', description: 'the upstream service is unavailable' }, exit: EXIT_FAILED, meaning: 'the gateway\'s upstream refused or broke the connection' },
  // Start-up and command line: fix the command or the configuration.
  ERR_USAGE: { exit: EXIT_USAGE, meaning: 'the command line or an input file cannot be acted on' },
  ERR_CONFIG: { exit: EXIT_USAGE, meaning: 'the configuration (file or D1AUTHZ_* variables) is invalid' },
  ERR_GATEWAY_CONFIG: { exit: EXIT_USAGE, meaning: 'the gateway configuration is invalid' },
  ERR_TLS_MATERIAL: { exit: EXIT_FAILED, meaning: 'a TLS certificate or key file is missing, unreadable or expired (reported as ERR_CONFIG)' },
  ERR_MASTER_KEY: { exit: EXIT_USAGE, meaning: 'the master key is missing, unreadable, weak or the wrong one' },
  ERR_STORE_SETUP: { exit: EXIT_USAGE, meaning: 'the store named by D1AUTHZ_DATABASE_URL does not exist or is not set up' },
} as const satisfies Record<ErrorCode, ErrorEntry>;

/**
 * The guard's codes (packages/guard/src/error-codes.ts, which test/errors/ holds this copy to):
 * answered by resource servers and the gateway, never by the CLI.
 */
const GUARD_CODES = {
  ERR_GUARD_NO_CREDENTIALS: { http: answer(401, 'unauthorized'), exit: EXIT_FAILED, meaning: 'the request carries no access token (bare Bearer challenge, RFC 6750 §3.1)' },
  ERR_GUARD_INVALID_REQUEST: { http: answer(400, 'invalid_request'), exit: EXIT_FAILED, meaning: 'the Authorization header is malformed' },
  ERR_GUARD_INVALID_TOKEN: { http: answer(401, 'invalid_token'), exit: EXIT_FAILED, meaning: 'the access token is not valid (signature, issuer, audience, time, binding, revoked)' },
  ERR_GUARD_INSUFFICIENT_SCOPE: { http: answer(403, 'insufficient_scope'), exit: EXIT_FAILED, meaning: 'the access token lacks a scope the request needs' },
  ERR_GUARD_UNAVAILABLE: { http: answer(503, 'temporarily_unavailable'), exit: EXIT_FAILED, meaning: 'the guard cannot decide now (no signing keys, revocation status unknown)' },
  ERR_JWKS_UNAVAILABLE: { exit: EXIT_FAILED, meaning: 'no key set could be fetched from the JWKS endpoint (answered as ERR_GUARD_UNAVAILABLE)' },
  ERR_JWKS_NO_MATCHING_KEY: { exit: EXIT_FAILED, meaning: 'no key of the JWKS fits the token (answered as ERR_GUARD_INVALID_TOKEN)' },
  ERR_JWKS_AMBIGUOUS_KEY: { exit: EXIT_FAILED, meaning: 'more than one key of the JWKS fits the token (answered as ERR_GUARD_INVALID_TOKEN)' },
  ERR_INTROSPECTION_FAILED: { exit: EXIT_FAILED, meaning: 'the introspection endpoint could not be asked or gave no usable answer' },
  ERR_REVOCATION_FEED: { exit: EXIT_FAILED, meaning: 'the revocation feed is not loaded, stale, or answered badly' },
} as const satisfies Record<ErrorCode, ErrorEntry>;

export const ERROR_TABLE: Readonly<Record<ServerErrorCode | keyof typeof GUARD_CODES, ErrorEntry>> = { ...SERVER_ERROR_CODES, ...GUARD_CODES };

export type ServerErrorCode = keyof typeof SERVER_ERROR_CODES;
export type KnownErrorCode = keyof typeof ERROR_TABLE;

export function errorEntry(code: ErrorCode): ErrorEntry | undefined {
  return Object.hasOwn(ERROR_TABLE, code) ? ERROR_TABLE[code as KnownErrorCode] : undefined;
}
