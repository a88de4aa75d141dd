/**
 * Composition of introspection, revocation and the revocation feed (called from app.ts): one place
 * that knows which domain parts answer which endpoint.
 */
import type { ClientAuthenticationDeps } from './protocol/client-authentication.js';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { ClientAuthenticator } from './domain/clients/client-authenticator.js';
import type { ClientDirectory } from './domain/clients/client-directory.js';
import type { KeyRing } from './domain/keys/key-ring.js';
import { RevocationList } from './domain/revocations/revocation-list.js';
import { RevocationService } from './domain/revocations/revocation-service.js';
import { TokenInspector } from './domain/tokens/token-inspector.js';
import { TokenVerifier } from './domain/tokens/token-verifier.js';
import type { TokenStatusDeps } from './http/plugins/token-status-routes.js';
import type { Store } from './store/database.js';
import type { AuditEvent } from './domain/audit/audit-event.js';
import { RevocationRepository } from './store/revocation-repository.js';

export interface TokenStatus {
  readonly revocations: RevocationService;
  readonly inspector: TokenInspector;
  readonly deps: TokenStatusDeps;
  /** Pull new revocations now (the change feed calls it on every 'revocation' change). */
  sync(): Promise<void>;
  stop(): void;
}

export async function createTokenStatus(parts: {
  config: Config;
  store: Store;
  keyRing: KeyRing;
  directory: ClientDirectory;
  authenticator: ClientAuthenticator;
  logger: Logger;
  /** token.revoked: its log line (the row is written in the revocation's transaction). */
  auditLog?: (event: AuditEvent, at: number) => void;
  onAuthenticationFailure?: ClientAuthenticationDeps['onAuthenticationFailure'];
}): Promise<TokenStatus> {
  const { config, keyRing, directory, authenticator, logger } = parts;
  const verifier = new TokenVerifier(() => keyRing.jwks(), config.issuer);
  const list = new RevocationList();
  const revocations = new RevocationService(
    new RevocationRepository(parts.store.db),
    list,
    verifier,
    {
      clockSkew: config.clockSkew,
      // The change feed brings revocations within one sync interval; this re-read only covers a missed change.
      resyncIntervalMs: Math.max(10 * config.syncIntervalMs, 10_000),
      pruneIntervalMs: 60_000,
    },
    (err, what) => logger.warn({ detail: err.message }, `${what} failed; retrying`),
    Date.now,
    parts.auditLog,
  );
  await revocations.start();
  const inspector = new TokenInspector(verifier, list, directory);
  // The same client authentication as the token endpoint: Basic or tls_client_auth, certificate binding included.
  const authentication: ClientAuthenticationDeps = {
    authenticateClient: (credentials) => authenticator.authenticate(credentials),
    authenticateClientByCertificate: (clientId) => authenticator.authenticateByCertificate(clientId),
    ...(parts.onAuthenticationFailure ? { onAuthenticationFailure: parts.onAuthenticationFailure } : {}),
  };
  return {
    revocations,
    inspector,
    deps: {
      introspection: { ...authentication, inspectToken: (token) => inspector.inspect(token) },
      revocation: { ...authentication, revokeToken: (client, token, origin) => revocations.revoke(client.clientId, token, origin) },
      feed: { ...authentication, readFeed: (cursor) => revocations.feed(cursor) },
    },
    sync: () => revocations.sync(),
    stop: () => revocations.stop(),
  };
}
