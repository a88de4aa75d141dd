/**
 * Audit of what callers do at the endpoints: every token issued and every failed client
 * authentication. Both are written through the batched sink (or, with D1AUTHZ_AUDIT_SYNC=true, a
 * token's row is committed before the token is sent). A failed authentication is also counted per
 * client for the metric: known client ids by name, every unknown one in a single bucket, so an
 * attacker cannot grow the label set.
 */
import { presentedClientId, type AuditEvent } from './audit-event.js';
import type { AuditSink } from './audit-trail.js';

/** Where a request came from: the socket's peer, the trusted proxy's forwarded address, the correlation id. */
export interface RequestOrigin {
  readonly address: string | undefined;
  /** Set only when the peer is a trusted proxy (D1AUTHZ_TRUSTED_PROXIES) that forwarded one. */
  readonly forwardedFor?: string | undefined;
  readonly correlationId: string;
  /**
   * This request's `token.issued` event, set when its token is issued: the request's own log line
   * carries it (one line per token), so the audit trail stores it without a log line of its own.
   */
  tokenEvent?: AuditEvent;
}

/** The caller's address as far as we can trust it: the forwarded one behind a trusted proxy, else the peer's. */
export const sourceAddress = (origin: RequestOrigin | undefined): string | undefined => origin?.forwardedFor ?? origin?.address;

export type AuthenticationFailureReason =
  | 'missing_credentials'
  | 'malformed_credentials'
  | 'unknown_client'
  | 'wrong_secret'
  | 'disabled'
  | 'certificate_mismatch';

export interface AuthenticationFailure {
  /** As the caller presented it (undefined: none could be read); capped before it is stored or logged. */
  readonly presentedClientId: string | undefined;
  readonly reason: AuthenticationFailureReason;
  /** true when the id names a registered client (it may then be a metric label). */
  readonly knownClient: boolean;
  readonly origin: RequestOrigin | undefined;
}

export interface IssuedTokenFacts {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly jti: string;
  /** ISO-8601, the token's exp. */
  readonly expiresAt: string;
  /** RFC 8705 cnf x5t#S256 of the bound certificate, if any. */
  readonly certificateThumbprint: string | undefined;
}

/** The metric label of every client id that is not registered. */
export const UNKNOWN_CLIENT_LABEL = '(unknown)';

export interface RequestAuditOptions {
  /** The batched sink; undefined when D1AUTHZ_AUDIT=false (a failure is then only logged). */
  readonly sink: AuditSink | undefined;
  /** D1AUTHZ_AUDIT_SYNC=true: commits a token's row before it resolves (`log`: also its own log line). */
  readonly write: ((event: AuditEvent, log: boolean) => Promise<void>) | undefined;
  /** The log line of an event that is not stored (D1AUTHZ_AUDIT=false). */
  readonly logOnly: (event: AuditEvent) => void;
  readonly countFailure: (clientIdLabel: string) => void;
}

export class RequestAudit {
  constructor(private readonly options: RequestAuditOptions) {}

  tokenIssued(token: IssuedTokenFacts, origin: RequestOrigin | undefined): Promise<void> | undefined {
    const { sink, write } = this.options;
    if (!sink) return undefined;
    const event: AuditEvent = {
      type: 'token.issued',
      actor: token.clientId,
      clientId: token.clientId,
      address: sourceAddress(origin),
      correlationId: origin?.correlationId,
      details: {
        scopes: token.scopes,
        jti: token.jti,
        exp: token.expiresAt,
        ...(token.certificateThumbprint ? { 'x5t#S256': token.certificateThumbprint } : {}),
        ...peerDetails(origin),
      },
    };
    // Logged on the request's line when there is one (origin.tokenEvent), else on a line of its own.
    const logHere = origin === undefined;
    if (origin) origin.tokenEvent = event;
    if (write) return write(event, logHere);
    sink.record(event, logHere);
    return undefined;
  }

  authenticationFailed(failure: AuthenticationFailure): void {
    const clientId = failure.presentedClientId === undefined ? undefined : presentedClientId(failure.presentedClientId);
    const event: AuditEvent = {
      type: 'client.authentication_failed',
      clientId,
      address: sourceAddress(failure.origin),
      correlationId: failure.origin?.correlationId,
      details: { reason: failure.reason, ...peerDetails(failure.origin) },
    };
    if (this.options.sink) this.options.sink.record(event);
    else this.options.logOnly(event);
    this.options.countFailure(failure.knownClient && clientId !== undefined ? clientId : UNKNOWN_CLIENT_LABEL);
  }
}

/** Behind a trusted proxy the event's address is the forwarded one; the proxy's own is kept too. */
function peerDetails(origin: RequestOrigin | undefined): Record<string, string> {
  return origin?.forwardedFor !== undefined && origin.address !== undefined ? { peer_address: origin.address } : {};
}
