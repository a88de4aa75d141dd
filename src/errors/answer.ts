/** An error of the family as the HTTP answer its table entry names (shared by the token listener and the admin API). */
import type { D1AuthzError, ErrorCode } from './d1authz-error.js';
import type { HttpAnswer } from './error-table.js';

export interface Answer {
  readonly status: number;
  readonly error: string;
  readonly description: string;
  /** Logged, never sent: the message, when the answer sends a description of its own instead. */
  readonly detail: string | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly errorCode: ErrorCode;
}

export function answerOf(err: D1AuthzError, http: HttpAnswer): Answer {
  // A lock says itself how long it lasts; the table has the others' waits.
  const own = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  const retryAfter = typeof own === 'number' ? own : http.retryAfter;
  return {
    status: http.status,
    error: http.error,
    description: http.description ?? err.description,
    detail: err.detail ?? (http.description === undefined ? undefined : err.message),
    headers: retryAfter === undefined ? undefined : { 'retry-after': String(retryAfter) },
    errorCode: err.errorCode,
  };
}
