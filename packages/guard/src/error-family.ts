/**
 * The root of every error the guard throws (as jose does: one root, stable `ERR_*` codes). The
 * server's root (src/errors/d1authz-error.ts) has the same fields: the guard is a leaf and imports
 * nothing from the server, and the server does not tie its errors to the installed guard's version.
 *
 * `errorCode` is stable: scripts and alerts may match on it (the README lists every one). It is not
 * named `code` because `GuardError.code` was the RFC 6750 error code before this root existed, and
 * resource servers read it.
 */
export type ErrorCode = `ERR_${string}`;

export interface D1AuthzErrorInit {
  /** HTTP status, for errors that are answered as such. */
  readonly status?: number;
  /** The RFC 6749 §5.2 / RFC 6750 §3.1 `error` value, where the error reaches an HTTP answer. */
  readonly oauthError?: string;
  /** Public: may be sent as `error_description`. Defaults to the message. */
  readonly description?: string;
  /** Private: logged, never sent. */
  readonly detail?: string;
  readonly cause?: unknown;
}

export class D1AuthzError extends Error {
  readonly errorCode: ErrorCode;
  readonly status: number | undefined;
  readonly oauthError: string | undefined;
  readonly description: string;
  readonly detail: string | undefined;

  constructor(errorCode: ErrorCode, message: string, init: D1AuthzErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.errorCode = errorCode;
    this.status = init.status;
    this.oauthError = init.oauthError;
    this.description = init.description ?? message;
    this.detail = init.detail;
  }
}

export const isD1AuthzError = (err: unknown): err is D1AuthzError => err instanceof D1AuthzError;
