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
  // RFC 8705 client settings (migration 0003); see model/client.ts.
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
  /** Local provider: AES-256-GCM sealed PKCS#8 PEM (domain/keys/local/key-encryption.ts); null for an HSM key. */
  private_key_enc: string | null;
  created_at: number;
  activate_at: number;
  retire_at: number | null;
  // Key custody (migration 0012).
  /** Who holds the private key: 'local' (sealed above) or 'pkcs11' (in the HSM, found by hsm_key_id). */
  provider: Generated<string>;
  /** The HSM key's CKA_ID, hex; null for a local key. */
  hsm_key_id: string | null;
  /** 1: the pre-published standby key, which signs only when `keys revoke` withdraws the signing key. */
  standby: Generated<number>;
  revoked_at: number | null;
  revoke_reason: string | null;
  /** When an HSM key's token objects were destroyed after its retention (the row stays, so `keys list` shows it). */
  destroyed_at: number | null;
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
 * Revoked access tokens (kind 'token', by jti; kind 'key', by the kid that signed them) and client-wide cut-offs (kind 'client': every token
 * of the client issued before `issued_before`, or all of them when it is null). `seq` is the cursor
 * of the revocation feed; a row goes once `expires_at` has passed (no token it concerns is valid).
 */
export interface RevocationsTable {
  seq: Generated<number>;
  /** 'key': every token signed by `kid` (a withdrawn signing key; client_id is ''). */
  kind: 'token' | 'client' | 'key';
  jti: string | null;
  client_id: string;
  issued_before: number | null;
  expires_at: number;
  created_at: number;
  /** The withdrawn key of a 'key' row (migration 0012). */
  kid: string | null;
}

/**
 * The audit trail (migration 0010): append-only, one row per event. `details` is a JSON object
 * (before/after of a record, scopes, jti...): never a secret, a hash or a token.
 */
export interface AuditEventsTable {
  id: Generated<number>;
  at: number;
  type: string;
  /** Who: the OS user of the CLI, the client for its own requests. */
  actor: string | null;
  client_id: string | null;
  address: string | null;
  correlation_id: string | null;
  details: string;
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

/**
 * Brute-force lockout counters (migration 0011): one row per source address (`client_id` null) and
 * per (client id, address). See model/lockout-policy.ts for what the numbers mean.
 */
export interface LockoutsTable {
  key: string;
  address: string;
  client_id: string | null;
  failures: number;
  window_start: number;
  lock_ms: number;
  locked_until: number;
  last_failure_at: number;
}

export interface Database {
  clients: ClientsTable;
  client_secrets: ClientSecretsTable;
  signing_keys: SigningKeysTable;
  changes: ChangesTable;
  revocations: RevocationsTable;
  admin_tokens: AdminTokensTable;
  audit_events: AuditEventsTable;
  lockouts: LockoutsTable;
}
