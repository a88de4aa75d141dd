/**
 * Fake dependencies for the protocol steps (src/protocol): clients built in memory, an authenticator
 * that answers from a table, and a record of every hook the steps call, so a test can see what the
 * lockout and the audit trail were told.
 */
import type { Client } from '../../src/model/client.js';
import type { Attempt, FailedAttempt } from '../../src/domain/lockout/attempt.js';
import type { AuthenticationFailure } from '../../src/domain/audit/request-audit.js';
import type { BasicCredentials } from '../../src/model/client-authentication.js';
import type { AttemptSource, AuthenticationResult, ClientAuthenticationDeps } from '../../src/protocol/client-authentication.js';
import type { ClientCertificate } from '../../src/model/client-certificate.js';
import type { IssuedToken, TokenEndpointDeps, TokenRequest } from '../../src/protocol/token-endpoint.js';

export function fakeClient(overrides: Partial<Client> = {}): Client {
  return {
    clientId: 'bank-d1',
    name: 'bank d1',
    allowedScopes: ['consumer', 'otp'],
    defaultScopes: ['consumer'],
    grantTypes: ['client_credentials'],
    audience: null,
    tokenTtl: null,
    enabled: true,
    createdAt: 0,
    updatedAt: 0,
    ...overrides,
  };
}

export function fakeCertificate(overrides: Partial<ClientCertificate> = {}): ClientCertificate {
  return { thumbprint: 'thumb-1', subjectDn: 'CN=d1 client,O=Bank,C=FR', sanDns: [], sanUri: [], sanEmail: [], source: 'tls', ...overrides };
}

export const basic = (clientId: string, secret: string): string => `Basic ${Buffer.from(`${clientId}:${secret}`, 'utf8').toString('base64')}`;

export const FORM = 'application/x-www-form-urlencoded';

export function tokenRequest(body: string | undefined, overrides: Partial<TokenRequest> = {}): TokenRequest {
  return { contentType: FORM, authorization: basic('bank-d1', 'right-secret'), body, ...overrides };
}

export interface Recorded {
  readonly secretChecks: { credentials: BasicCredentials; source: AttemptSource | undefined }[];
  readonly certificateLookups: string[];
  readonly admitted: Attempt[];
  readonly failed: FailedAttempt[];
  readonly failures: AuthenticationFailure[];
  readonly issued: { clientId: string; scopes: readonly string[]; confirmation: unknown }[];
}

export interface FakeDepsOptions {
  /** Clients by id; the secret of each is `secrets[id]` (default "right-secret"). */
  readonly clients?: readonly Client[];
  readonly secrets?: Readonly<Record<string, string>>;
  /** Absent: tls_client_auth is not wired, as when the server has no TLS. */
  readonly certificateAuth?: boolean;
  /** Thrown by admitAttempt (a lockout that refuses). */
  readonly refuseAttempt?: Error;
  /** Leave out the lockout hooks altogether. */
  readonly noLockout?: boolean;
}

export function fakeDeps(options: FakeDepsOptions = {}): { deps: TokenEndpointDeps & Required<Pick<ClientAuthenticationDeps, 'onAuthenticationFailure'>>; recorded: Recorded } {
  const clients = new Map((options.clients ?? [fakeClient()]).map((c) => [c.clientId, c]));
  const recorded: Recorded = { secretChecks: [], certificateLookups: [], admitted: [], failed: [], failures: [], issued: [] };
  const outcome = (client: Client | undefined, secretOk: boolean): AuthenticationResult => {
    if (!client) return { ok: false, reason: 'unknown_client' };
    if (!secretOk) return { ok: false, reason: 'wrong_secret' };
    return client.enabled ? { ok: true, client } : { ok: false, reason: 'disabled' };
  };
  const deps = {
    expiresInFormat: 'string' as const,
    expiresAt: true,
    async authenticateClient(credentials: BasicCredentials, source?: AttemptSource): Promise<AuthenticationResult> {
      recorded.secretChecks.push({ credentials, source });
      // As the domain does (secret-form.ts): a credential with control characters is never looked up.
      if (/[\x00-\x1f\x7f]/.test(credentials.clientId + credentials.secret)) return { ok: false, reason: 'control_characters' };
      const client = clients.get(credentials.clientId);
      return outcome(client, credentials.secret === (options.secrets?.[credentials.clientId] ?? 'right-secret'));
    },
    ...(options.certificateAuth
      ? {
          async authenticateClientByCertificate(clientId: string): Promise<AuthenticationResult> {
            recorded.certificateLookups.push(clientId);
            return outcome(clients.get(clientId), true);
          },
        }
      : {}),
    ...(options.noLockout
      ? {}
      : {
          async admitAttempt(attempt: Attempt): Promise<void> {
            recorded.admitted.push(attempt);
            if (options.refuseAttempt) throw options.refuseAttempt;
          },
          async authenticationFailed(attempt: FailedAttempt): Promise<void> {
            recorded.failed.push(attempt);
          },
        }),
    onAuthenticationFailure(failure: AuthenticationFailure): void {
      recorded.failures.push(failure);
    },
    async issueToken(client: Client, scopes: readonly string[], confirmation?: unknown): Promise<IssuedToken> {
      recorded.issued.push({ clientId: client.clientId, scopes, confirmation });
      return { accessToken: 'token-for-' + client.clientId, expiresIn: 900, expiresAt: '2026-01-01T00:15:00.000Z', scope: scopes.join(' '), jti: 'jti-1' };
    },
  };
  return { deps, recorded };
}
