/** Fake deps for the registry tests: clients in memory, every call recorded. */
import type { Client } from '../../src/model/client.js';
import type { AuthenticationFailure } from '../../src/domain/audit/request-audit.js';
import type { Attempt, FailedAttempt } from '../../src/domain/lockout/attempt.js';
import type { ClientRequest } from '../../src/protocol/client-authentication.js';
import type { ClientCertificate } from '../../src/model/client-certificate.js';
import type { TokenEndpointDeps } from '../../src/protocol/token-endpoint.js';
import { fakeClient } from '../helpers/protocol-fakes.js';

/** One fake client for every protocol test. */
export { fakeClient };

export const FORM = 'application/x-www-form-urlencoded';
export const SECRET = 's3cret-value';

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;


export const certificate = (overrides: Partial<ClientCertificate> = {}): ClientCertificate => ({
  thumbprint: 'thumb-1',
  subjectDn: 'CN=d1-client,O=Thales DIS,C=FR',
  sanDns: [],
  sanUri: [],
  sanEmail: [],
  source: 'tls',
  ...overrides,
});

export const request = (body: string, extra: Partial<ClientRequest> = {}): ClientRequest => ({
  contentType: FORM,
  authorization: undefined,
  body,
  sourceAddress: '192.0.2.7',
  ...extra,
});

export interface Recorded {
  secretChecks: string[];
  certificateChecks: string[];
  admitted: Attempt[];
  failed: FailedAttempt[];
  failures: AuthenticationFailure[];
  issued: { clientId: string; scopes: readonly string[] }[];
}

/** The domain's side of client authentication and issuing, over `clients`; the secret of each is SECRET. */
export function fakeDeps(clients: readonly Client[] = [fakeClient()], { certificates = true } = {}): { deps: TokenEndpointDeps; recorded: Recorded } {
  const recorded: Recorded = { secretChecks: [], certificateChecks: [], admitted: [], failed: [], failures: [], issued: [] };
  const find = (id: string) => clients.find((c) => c.clientId === id);
  const deps: TokenEndpointDeps = {
    async authenticateClient(credentials) {
      recorded.secretChecks.push(credentials.clientId);
      const client = find(credentials.clientId);
      if (!client) return { ok: false, reason: 'unknown_client' };
      return credentials.secret === SECRET ? { ok: true, client } : { ok: false, reason: 'wrong_secret' };
    },
    ...(certificates
      ? {
          async authenticateClientByCertificate(clientId: string) {
            recorded.certificateChecks.push(clientId);
            const client = find(clientId);
            return client ? { ok: true as const, client } : { ok: false as const, reason: 'unknown_client' as const };
          },
        }
      : {}),
    async admitAttempt(attempt) {
      recorded.admitted.push(attempt);
    },
    async authenticationFailed(attempt) {
      recorded.failed.push(attempt);
    },
    onAuthenticationFailure(failure) {
      recorded.failures.push(failure);
    },
    async issueToken(client, scopes) {
      recorded.issued.push({ clientId: client.clientId, scopes });
      return { accessToken: `token-for-${client.clientId}`, expiresIn: 900, expiresAt: '2026-01-01T00:15:00.000Z', scope: scopes.join(' '), jti: 'jti-1' };
    },
    expiresInFormat: 'string',
    expiresAt: false,
  };
  return { deps, recorded };
}
