/**
 * A client as the admin interfaces show it (CLI --json and the admin API): snake_case names as in
 * OAuth's own registration metadata (RFC 7591), ISO-8601 times, and never a secret or a hash.
 */
import type { Client } from '../../model/client.js';
import type { ClientView } from './client-service.js';

export interface ClientJson {
  readonly client_id: string;
  readonly name: string;
  readonly enabled: boolean;
  readonly scopes: readonly string[];
  readonly default_scopes: readonly string[];
  readonly grant_types: readonly string[];
  readonly token_ttl: number | null;
  readonly audience: string | null;
  readonly introspect: boolean;
  /** The token response's expires_in as a string or a number; null: the server's D1AUTHZ_EXPIRES_IN_FORMAT. */
  readonly expires_in_format: 'string' | 'number' | null;
  /** Whether token responses carry expires_at; null: the server's D1AUTHZ_EXPIRES_AT. */
  readonly expires_at: boolean | null;
  readonly token_endpoint_auth_method: string;
  readonly tls_client_auth_subject_dn: string | null;
  readonly tls_client_auth_san_dns: string | null;
  readonly tls_client_auth_san_uri: string | null;
  readonly tls_client_auth_san_email: string | null;
  readonly tls_client_certificate_thumbprint: string | null;
  readonly certificate_bound_tokens: boolean;
  readonly created_at: string;
  readonly updated_at: string;
  readonly secrets?: readonly { readonly created_at: string; readonly expires_at: string | null }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function clientJson(c: Client | ClientView): ClientJson {
  return {
    client_id: c.clientId,
    name: c.name,
    enabled: c.enabled,
    scopes: c.allowedScopes,
    default_scopes: c.defaultScopes,
    grant_types: c.grantTypes,
    token_ttl: c.tokenTtl,
    audience: c.audience,
    introspect: c.introspect ?? false,
    expires_in_format: c.expiresInFormat ?? null,
    expires_at: c.expiresAt ?? null,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
    tls_client_auth_subject_dn: c.tlsClientAuthSubjectDn ?? null,
    tls_client_auth_san_dns: c.tlsClientAuthSanDns ?? null,
    tls_client_auth_san_uri: c.tlsClientAuthSanUri ?? null,
    tls_client_auth_san_email: c.tlsClientAuthSanEmail ?? null,
    tls_client_certificate_thumbprint: c.tlsClientCertificateThumbprint ?? null,
    certificate_bound_tokens: c.certificateBoundTokens ?? false,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    ...('secrets' in c ? { secrets: c.secrets.map((s) => ({ created_at: s.createdAt, expires_at: s.expiresAt })) } : {}),
  };
}
