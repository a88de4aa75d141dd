/**
 * What a client-authentication method is (the registry is ./index.ts) and what every method is
 * handed: the request as the HTTP layer gives it, and the domain's verifications.
 */
import type { Client, TokenEndpointAuthMethod } from '../../model/client.js';
import type { Attempt, FailedAttempt } from '../../domain/lockout/attempt.js';
import type { AuthenticationFailure, RequestOrigin } from '../../domain/audit/request-audit.js';
import type { AttemptSource, AuthenticationResult, BasicCredentials } from '../../model/client-authentication.js';
import type { ClientCertificate } from '../../model/client-certificate.js';

export type { AttemptSource, AuthenticationResult };

/** What the HTTP layer hands in for a form-encoded POST by a client. */
export interface ClientRequest {
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string | undefined;
  /** The client certificate of the request (TLS connection or trusted proxy), if any: RFC 8705. */
  readonly clientCertificate?: ClientCertificate;
  /** Where the request comes from (http/source-address.ts): what the lockout and the hash queue key on. */
  readonly sourceAddress?: string;
  /** The peer (and trusted proxy's forwarded) address and the correlation id: for the audit trail and the log. */
  readonly origin?: RequestOrigin;
}


export interface ClientAuthenticationDeps {
  authenticateClient(credentials: BasicCredentials, source?: AttemptSource): Promise<AuthenticationResult>;
  /** RFC 8705 tls_client_auth: the client named by client_id, no secret. Absent: the method is refused. */
  authenticateClientByCertificate?(clientId: string): Promise<AuthenticationResult>;
  /** Brute-force lockout (domain/lockout): throws when the attempt is refused before it is verified. */
  admitAttempt?(attempt: Attempt): Promise<void>;
  /** Told of every failed client authentication (invalid_client), so the lockout can count it. */
  authenticationFailed?(attempt: FailedAttempt): Promise<void>;
  /** Told of every failed client authentication (audit trail, warn log line, per-client counter). */
  onAuthenticationFailure?(failure: AuthenticationFailure): void;
}

/** The parameters of a form body (protocol/form-body.ts), each present at most once. */
export type FormParams = ReadonlyMap<string, string>;

/** The credentials as sent, read before anything is verified: what the lockout admits or refuses. */
export interface PresentedCredentials {
  readonly clientId: string | undefined;
  readonly secret?: string;
}

/**
 * One way for a client to authenticate (RFC 7591 token_endpoint_auth_method). The caller picks the
 * one method whose credentials are presented, admits the attempt (lockout), authenticates, then checks
 * for every method alike that the client is registered for it and its certificate binding
 * (protocol/mtls.ts checkClientCertificate).
 */
export interface ClientAuthMethod<M extends TokenEndpointAuthMethod = TokenEndpointAuthMethod, C extends PresentedCredentials = PresentedCredentials> {
  readonly method: M;
  /** Advertised (RFC 8414 *_auth_methods_supported) only where a client certificate can reach the server. */
  readonly needsClientCertificate: boolean;
  /** Whether the request carries this method's credentials. No two methods may claim the same request. */
  presented(request: ClientRequest, params: FormParams): boolean;
  /** The credentials as sent; throws (invalid_client or invalid_request) when they are malformed. */
  credentials(request: ClientRequest, params: FormParams, deps: ClientAuthenticationDeps): C;
  /** The client they authenticate, or invalid_client; every refusal reported (failure-report.ts). */
  authenticate(credentials: C, deps: ClientAuthenticationDeps, source: AttemptSource | undefined, origin: RequestOrigin | undefined): Promise<Client>;
}
