/**
 * The one error type the guard throws for anything a client did wrong (or, for 503, for the key
 * source being unavailable). Adapters turn it into an HTTP answer with `status`, `headers` and
 * `body`.
 *
 * RFC 6750 §3: a request without any credentials gets a 401 with a bare challenge (no `error`
 * attribute); malformed requests get 400 invalid_request; bad tokens 401 invalid_token; missing
 * scope 403 insufficient_scope with a `scope` attribute.
 */
import { bearerChallenge, errorBody } from './error-body.js';
import { D1AuthzError, type ErrorCode } from './error-family.js';

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

export { quoteHeaderValue } from './error-body.js';

const ERROR_CODES: Record<GuardErrorCode, ErrorCode> = {
  invalid_request: 'ERR_GUARD_INVALID_REQUEST',
  invalid_token: 'ERR_GUARD_INVALID_TOKEN',
  insufficient_scope: 'ERR_GUARD_INSUFFICIENT_SCOPE',
  temporarily_unavailable: 'ERR_GUARD_UNAVAILABLE',
};

export class GuardError extends D1AuthzError {
  override readonly name = 'GuardError';
  declare readonly status: GuardErrorStatus;
  readonly code: GuardErrorCode | undefined;
  readonly realm: string;
  readonly scope: readonly string[] | undefined;

  constructor(init: GuardErrorInit) {
    super(init.code === undefined ? 'ERR_GUARD_NO_CREDENTIALS' : ERROR_CODES[init.code], init.description, {
      status: init.status,
      oauthError: init.code ?? 'unauthorized',
      description: init.description,
      cause: init.cause,
    });
    this.code = init.code;
    this.realm = init.realm;
    this.scope = init.scope ? Object.freeze([...init.scope]) : undefined;
  }

  /**
   * Full `WWW-Authenticate` header value, e.g.
   * `Bearer realm="api", error="invalid_token", error_description="token expired"`.
   * Without credentials (code undefined) it is just `Bearer realm="api"` (RFC 6750 §3.1).
   */
  get wwwAuthenticate(): string {
    if (this.code === undefined || this.code === 'temporarily_unavailable') return bearerChallenge({ realm: this.realm });
    const scope = this.code === 'insufficient_scope' && this.scope && this.scope.length > 0 ? this.scope.join(' ') : undefined;
    return bearerChallenge({ realm: this.realm, error: this.code, description: this.description, ...(scope === undefined ? {} : { scope }) });
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

  /** The body as sent: the shared serializer's bytes. */
  get serializedBody(): string {
    return errorBody(this.code ?? 'unauthorized', this.description);
  }

  toJSON(): GuardErrorBody {
    return this.body;
  }
}
