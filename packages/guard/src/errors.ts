/**
 * The one error type the guard throws for anything a client did wrong (or, for 503, for the key
 * source being unavailable). Adapters turn it into an HTTP answer with `status`, `headers` and
 * `body`.
 *
 * RFC 6750 §3: a request without any credentials gets a 401 with a bare challenge (no `error`
 * attribute); malformed requests get 400 invalid_request; bad tokens 401 invalid_token; missing
 * scope 403 insufficient_scope with a `scope` attribute.
 */

export type GuardErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  /** Not an RFC 6750 code: used only in the JSON body of a 503 (keys could not be fetched). */
  | 'temporarily_unavailable';

export type GuardErrorStatus = 400 | 401 | 403 | 503;

export interface GuardErrorInit {
  status: GuardErrorStatus;
  code: GuardErrorCode | undefined;
  /** Public, human-readable. Must never contain the token. */
  description: string;
  realm: string;
  /** For insufficient_scope: the scopes the request needed. */
  scope?: readonly string[];
  cause?: unknown;
}

export interface GuardErrorBody {
  error: string;
  error_description: string;
}

/**
 * RFC 6750 §3 restricts `error_description` to %x20-21 / %x23-5B / %x5D-7E. We keep printable
 * ASCII only (dropping controls, which also rules out header injection) and backslash-escape `"`
 * and `\` so the value is always a valid RFC 9110 quoted-string.
 */
export function quoteHeaderValue(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '');
  return `"${printable.replace(/["\\]/g, '\\$&')}"`;
}

export class GuardError extends Error {
  override readonly name = 'GuardError';
  readonly status: GuardErrorStatus;
  readonly code: GuardErrorCode | undefined;
  readonly description: string;
  readonly realm: string;
  readonly scope: readonly string[] | undefined;

  constructor(init: GuardErrorInit) {
    super(init.description, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.description = init.description;
    this.realm = init.realm;
    this.scope = init.scope ? Object.freeze([...init.scope]) : undefined;
  }

  /**
   * Full `WWW-Authenticate` header value, e.g.
   * `Bearer realm="api", error="invalid_token", error_description="token expired"`.
   * Without credentials (code undefined) it is just `Bearer realm="api"` (RFC 6750 §3.1).
   */
  get wwwAuthenticate(): string {
    const parts = [`realm=${quoteHeaderValue(this.realm)}`];
    if (this.code !== undefined && this.code !== 'temporarily_unavailable') {
      parts.push(`error=${quoteHeaderValue(this.code)}`);
      parts.push(`error_description=${quoteHeaderValue(this.description)}`);
      if (this.code === 'insufficient_scope' && this.scope && this.scope.length > 0) {
        parts.push(`scope=${quoteHeaderValue(this.scope.join(' '))}`);
      }
    }
    return `Bearer ${parts.join(', ')}`;
  }

  /** Response headers an adapter should send (challenge, except on 503, and no-store). */
  get headers(): Record<string, string> {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    if (this.status !== 503) headers['www-authenticate'] = this.wwwAuthenticate;
    return headers;
  }

  /** JSON body: `{ error, error_description }`; `error` is "unauthorized" when no code applies. */
  get body(): GuardErrorBody {
    return { error: this.code ?? 'unauthorized', error_description: this.description };
  }

  toJSON(): GuardErrorBody {
    return this.body;
  }
}
