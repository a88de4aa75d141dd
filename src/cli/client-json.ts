/**
 * A client as the CLI shows it to scripts (`client show|list|create|update --json`) and as a clients
 * file holds it (`client apply|export`): snake_case, the RFC 7591 / RFC 8705 metadata names where one
 * exists, ISO-8601 times, null for "the server default".
 */
import type { Client, ExpiresInFormat, GrantType, TokenEndpointAuthMethod } from '../model/client.js';
import type { ClientView } from '../domain/clients/client-service.js';
import { isoTime } from './output.js';

/** The settings an operator keeps under version control: what `client apply` sets and `client export` writes. */
export interface ClientSettingsJson {
  client_id: string;
  name: string;
  enabled: boolean;
  scopes: string[];
  default_scopes: string[];
  grant_types: GrantType[];
  /** Seconds; null: D1AUTHZ_TOKEN_TTL. */
  token_ttl: number | null;
  /** null: D1AUTHZ_AUDIENCE. */
  audience: string | null;
  introspect: boolean;
  /** null: D1AUTHZ_EXPIRES_IN_FORMAT. */
  expires_in_format: ExpiresInFormat | null;
  /** null: D1AUTHZ_EXPIRES_AT. */
  expires_at: 'on' | 'off' | null;
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  tls_client_auth_subject_dn: string | null;
  tls_client_auth_san_dns: string | null;
  tls_client_auth_san_uri: string | null;
  tls_client_auth_san_email: string | null;
  /** x5t#S256 (base64url SHA-256 of the DER certificate). */
  tls_client_certificate_thumbprint: string | null;
  tls_client_certificate_bound_access_tokens: boolean;
}

export interface ClientJson extends ClientSettingsJson {
  created_at: string | null;
  updated_at: string | null;
}

export interface ClientViewJson extends ClientJson {
  /** When each live secret was made and, once rotated out, when it stops working. Never the secret. */
  secrets: { created_at: string | null; expires_at: string | null }[];
}

export const onOff = (v: boolean | null | undefined): 'on' | 'off' | null => (v === null || v === undefined ? null : v ? 'on' : 'off');

export function clientSettingsJson(c: Client): ClientSettingsJson {
  return {
    client_id: c.clientId,
    name: c.name,
    enabled: c.enabled,
    scopes: [...c.allowedScopes],
    default_scopes: [...c.defaultScopes],
    grant_types: [...c.grantTypes],
    token_ttl: c.tokenTtl,
    audience: c.audience,
    introspect: c.introspect === true,
    expires_in_format: c.expiresInFormat ?? null,
    expires_at: onOff(c.expiresAt),
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
    tls_client_auth_subject_dn: c.tlsClientAuthSubjectDn ?? null,
    tls_client_auth_san_dns: c.tlsClientAuthSanDns ?? null,
    tls_client_auth_san_uri: c.tlsClientAuthSanUri ?? null,
    tls_client_auth_san_email: c.tlsClientAuthSanEmail ?? null,
    tls_client_certificate_thumbprint: c.tlsClientCertificateThumbprint ?? null,
    tls_client_certificate_bound_access_tokens: c.certificateBoundTokens === true,
  };
}

export function clientJson(c: Client): ClientJson {
  return { ...clientSettingsJson(c), created_at: isoTime(c.createdAt), updated_at: isoTime(c.updatedAt) };
}

export function clientViewJson(v: ClientView): ClientViewJson {
  return { ...clientJson(v), secrets: v.secrets.map((s) => ({ created_at: isoTime(s.createdAt), expires_at: isoTime(s.expiresAt) })) };
}
