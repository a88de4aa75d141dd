/**
 * What the audit trail records. An event names who did what to which client, from where; its
 * details are plain facts (scopes, jti, before/after of a record) and never a secret, a secret's
 * hash or a token: the builders below take only those facts.
 */
import type { Client } from '../../model/client.js';
import type { NewAuditRow } from '../../store/audit-repository.js';

export type AuditEventType =
  | 'token.issued'
  | 'client.authentication_failed'
  | 'client.locked_out'
  | 'client.created'
  | 'client.updated'
  | 'client.disabled'
  | 'client.enabled'
  | 'client.deleted'
  | 'client.secret_rotated'
  | 'key.rotated'
  | 'key.retired'
  | 'key.revoked'
  | 'master_key.rotated'
  | 'token.revoked';

export interface AuditEvent {
  readonly type: AuditEventType;
  /** Who: the OS user of the CLI (`os:alice`), the client for its own requests. */
  readonly actor?: string | undefined;
  readonly clientId?: string | undefined;
  /** The source address (the trusted proxy's forwarded one when there is one). */
  readonly address?: string | undefined;
  readonly correlationId?: string | undefined;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** A client id as presented by a caller is cut to this many characters before it is stored or logged. */
export const PRESENTED_CLIENT_ID_MAX = 128;

export const presentedClientId = (id: string): string => (id.length > PRESENTED_CLIENT_ID_MAX ? id.slice(0, PRESENTED_CLIENT_ID_MAX) + '…' : id);

export function toAuditRow(event: AuditEvent, at: number): NewAuditRow {
  return {
    at,
    type: event.type,
    actor: event.actor ?? null,
    client_id: event.clientId ?? null,
    address: event.address ?? null,
    correlation_id: event.correlationId ?? null,
    details: JSON.stringify(event.details ?? {}),
  };
}

/** The fields of a client record an auditor sees: all of them (a Client holds no secret or hash). */
export function clientSnapshot(client: Client | undefined): Record<string, unknown> | null {
  if (!client) return null;
  return {
    client_id: client.clientId,
    name: client.name,
    enabled: client.enabled,
    allowed_scopes: client.allowedScopes,
    default_scopes: client.defaultScopes,
    grant_types: client.grantTypes,
    audience: client.audience,
    token_ttl: client.tokenTtl,
    introspect: client.introspect ?? false,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? 'client_secret_basic',
    tls_client_auth_subject_dn: client.tlsClientAuthSubjectDn ?? null,
    tls_client_auth_san_dns: client.tlsClientAuthSanDns ?? null,
    tls_client_auth_san_uri: client.tlsClientAuthSanUri ?? null,
    tls_client_auth_san_email: client.tlsClientAuthSanEmail ?? null,
    tls_client_certificate_thumbprint: client.tlsClientCertificateThumbprint ?? null,
    certificate_bound_tokens: client.certificateBoundTokens ?? false,
    updated_at: new Date(client.updatedAt).toISOString(),
  };
}
