/**
 * Errors of the admin API, in the same shape as every other error of the server
 * (`{"error": ..., "error_description": ...}`); `detail` is logged, never sent.
 */
import { D1AuthzError, type ErrorCode } from '../errors/d1authz-error.js';
import { answerOf } from '../errors/answer.js';
import { errorEntry } from '../errors/error-table.js';
import { OAuthError } from '../protocol/oauth-error.js';

export type AdminErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'precondition_failed'
  | 'precondition_required'
  | 'temporarily_unavailable'
  | 'server_error';

export class AdminApiError extends D1AuthzError {
  override readonly name = 'AdminApiError';
  declare readonly status: number;
  readonly code: AdminErrorCode;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: AdminErrorCode,
    status: number,
    description: string,
    detail?: string,
    headers?: Readonly<Record<string, string>>,
    /** The code of the error this answer stands for, when it is not the answer's own. */
    errorCode: ErrorCode = `ERR_ADMIN_${code.toUpperCase()}`,
  ) {
    super(errorCode, `${code}: ${description}`, { status, oauthError: code, description, detail });
    this.code = code;
    this.headers = headers;
  }
}

export const badRequest = (description: string) => new AdminApiError('invalid_request', 400, description);
export const notFound = (what: string) => new AdminApiError('not_found', 404, `no ${what}`);

export function toAdminApiError(err: unknown): AdminApiError {
  if (err instanceof AdminApiError) return err;
  // The shared routes (health, metrics) speak OAuthError: a node scrape that times out is its 503.
  if (err instanceof OAuthError) return new AdminApiError(err.status === 503 ? 'temporarily_unavailable' : err.status >= 500 ? 'server_error' : 'invalid_request', err.status, err.description, err.detail, err.headers);
  // The error table gives the admin API's answer of the errors that have one; the others are a 500.
  const admin = err instanceof D1AuthzError ? errorEntry(err.errorCode)?.admin : undefined;
  if (admin) {
    const a = answerOf(err as D1AuthzError, admin);
    return new AdminApiError(a.error as AdminErrorCode, a.status, a.description, a.detail, a.headers, a.errorCode);
  }
  const status = (err as { statusCode?: number } | undefined)?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new AdminApiError('invalid_request', status, status === 413 ? 'the request body is too large' : 'the request is malformed', (err as Error).message);
  }
  return new AdminApiError('server_error', 500, 'internal error', err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err));
}
