/**
 * Errors of the admin API, in the same shape as every other error of the server
 * (`{"error": ..., "error_description": ...}`); `detail` is logged, never sent.
 */
import { AdminCapacityError, AdminTokenError } from '../domain/admin/admin-tokens.js';
import { ClientAdminError, ClientChangedError, ClientExistsError, ClientNotFoundError } from '../domain/clients/client-service.js';
import { StoreUnavailableError } from '../domain/clients/client-directory.js';
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

export class AdminApiError extends Error {
  override readonly name = 'AdminApiError';
  constructor(
    readonly code: AdminErrorCode,
    readonly status: number,
    readonly description: string,
    readonly detail?: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(`${code}: ${description}`);
  }
}

export const badRequest = (description: string) => new AdminApiError('invalid_request', 400, description);
export const notFound = (what: string) => new AdminApiError('not_found', 404, `no ${what}`);

export function toAdminApiError(err: unknown): AdminApiError {
  if (err instanceof AdminApiError) return err;
  // The shared routes (health, metrics) speak OAuthError: a node scrape that times out is its 503.
  if (err instanceof OAuthError) return new AdminApiError(err.status === 503 ? 'temporarily_unavailable' : err.status >= 500 ? 'server_error' : 'invalid_request', err.status, err.description, err.detail, err.headers);
  if (err instanceof ClientNotFoundError) return new AdminApiError('not_found', 404, err.message);
  if (err instanceof ClientExistsError) return new AdminApiError('conflict', 409, err.message);
  if (err instanceof ClientChangedError) return new AdminApiError('precondition_failed', 412, err.message);
  if (err instanceof ClientAdminError || err instanceof AdminTokenError) return new AdminApiError('invalid_request', 400, err.message);
  if (err instanceof AdminCapacityError || err instanceof StoreUnavailableError) return new AdminApiError('temporarily_unavailable', 503, 'the service is temporarily unavailable, retry later', err.message);
  const status = (err as { statusCode?: number } | undefined)?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new AdminApiError('invalid_request', status, status === 413 ? 'the request body is too large' : 'the request is malformed', (err as Error).message);
  }
  return new AdminApiError('server_error', 500, 'internal error', err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err));
}
