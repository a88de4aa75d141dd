/**
 * The one error type of the protocol core. `description` is public (sent as
 * `error_description`); `detail` is private: it is logged, never sent.
 */
import { D1AuthzError, type ErrorCode } from '../errors/d1authz-error.js';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'temporarily_unavailable'
  | 'server_error';

/** The stable code of an answer made here, not from another error of the family (src/errors/error-table.ts lists them). */
function errorCodeOf(code: OAuthErrorCode, status: number): ErrorCode {
  if (status === 405) return 'ERR_METHOD_NOT_ALLOWED';
  if (status === 413) return 'ERR_BODY_TOO_LARGE';
  if (status === 429) return 'ERR_LOCKED_OUT';
  return `ERR_${code.toUpperCase()}`;
}

export class OAuthError extends D1AuthzError {
  override readonly name = 'OAuthError';
  declare readonly status: number;
  readonly code: OAuthErrorCode;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: OAuthErrorCode,
    status: number,
    description: string,
    detail?: string,
    headers?: Readonly<Record<string, string>>,
    /** The code of the error this answer stands for, when it is not the answer's own. */
    errorCode: ErrorCode = errorCodeOf(code, status),
  ) {
    super(errorCode, `${code}: ${description}`, { status, oauthError: code, description, detail });
    this.code = code;
    this.headers = headers;
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

export const invalidRequest = (description: string, detail?: string) =>
  new OAuthError('invalid_request', 400, description, detail);

/** RFC 6749 §5.2: 401 and a WWW-Authenticate challenge (added by the HTTP layer, which knows the realm). */
export const invalidClient = (detail: string) =>
  new OAuthError('invalid_client', 401, 'client authentication failed', detail);

export const invalidScope = (description: string, detail?: string) =>
  new OAuthError('invalid_scope', 400, description, detail);

/** `supported`: the grant registry's names (protocol/grants), so the description lists what is accepted. */
export const unsupportedGrantType = (supported: readonly string[], detail?: string) =>
  new OAuthError('unsupported_grant_type', 400, `only ${supported.map((g) => `grant_type=${g}`).join(' or ')} is supported`, detail);

export const unauthorizedClient = (detail?: string) =>
  new OAuthError('unauthorized_client', 400, 'the client is not allowed to use this grant type', detail);

export const temporarilyUnavailable = (detail: string, retryAfterSeconds = 1) =>
  new OAuthError('temporarily_unavailable', 503, 'the service is temporarily unavailable, retry later', detail, {
    'retry-after': String(retryAfterSeconds),
  });

/**
 * Brute-force lockout: RFC 6585 §4 429 "Too Many Requests", with Retry-After, in the RFC 6749 §5.2
 * shape. The description names no client: the answer is the same whichever id was tried.
 */
export const lockedOut = (retryAfterSeconds: number, detail: string) =>
  new OAuthError('temporarily_unavailable', 429, 'too many failed client authentications from this address, retry later', detail, {
    'retry-after': String(retryAfterSeconds),
  });
