import type { Generated } from 'kysely';

/** Times are epoch milliseconds; booleans are 0/1 integers; lists are space-delimited: the same in both dialects. */
export interface ClientsTable {
  client_id: string;
  name: string;
  allowed_scopes: string;
  default_scopes: string;
  grant_types: string;
  audience: string | null;
  token_ttl: number | null;
  enabled: number;
  created_at: number;
  updated_at: number;
  /** 1: may call the introspection endpoint and read the revocation feed (migration 0002). */
  introspect: Generated<number>;
  // RFC 8705 client settings (migration 0003); see domain/clients/client.ts.
  token_endpoint_auth_method: Generated<string>;
  tls_client_auth_subject_dn: string | null;
  tls_client_auth_san_dns: string | null;
  tls_client_auth_san_uri: string | null;
  tls_client_auth_san_email: string | null;
  tls_client_certificate_thumbprint: string | null;
  certificate_bound_tokens: Generated<number>;
  // Token response shape (migration 0013); null: the server's setting.
  expires_in_format: string | null;
  /** 1 / 0: expires_at in the token response or not; null: the server's setting. */
  include_expires_at: number | null;
}

export interface ClientSecretsTable {
  id: Generated<number>;
  client_id: string;
  secret_hash: string;
  created_at: number;
  expires_at: number | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  /** AES-256-GCM sealed PKCS#8 PEM: see domain/keys/key-encryption.ts */
  private_key_enc: string;
  created_at: number;
  activate_at: number;
  retire_at: number | null;
}

/** Append-only log that every node polls to learn of changes made elsewhere. */
export interface ChangesTable {
  seq: Generated<number>;
  kind: ChangeKind;
  subject: string;
  created_at: number;
}

export type ChangeKind = 'client' | 'key' | 'revocation';

/**
 * Revoked access tokens (kind 'token', by jti) and client-wide cut-offs (kind 'client': every token
 * of the client issued before `issued_before`, or all of them when it is null). `seq` is the cursor
 * of the revocation feed; a row goes once `expires_at` has passed (no token it concerns is valid).
 */
export interface RevocationsTable {
  seq: Generated<number>;
  kind: 'token' | 'client';
  jti: string | null;
  client_id: string;
  issued_before: number | null;
  expires_at: number;
  created_at: number;
}

/** Admin API credentials (migration 0014): the token itself is never stored, only its scrypt hash. */
export interface AdminTokensTable {
  /** Public half of the token (d1at_<id>_<secret>): finds the row without a scan. */
  id: string;
  name: string;
  role: 'admin' | 'viewer';
  token_hash: string;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface Database {
  clients: ClientsTable;
  client_secrets: ClientSecretsTable;
  signing_keys: SigningKeysTable;
  changes: ChangesTable;
  revocations: RevocationsTable;
  admin_tokens: AdminTokensTable;
}
