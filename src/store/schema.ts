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

export interface Database {
  clients: ClientsTable;
  client_secrets: ClientSecretsTable;
  signing_keys: SigningKeysTable;
  changes: ChangesTable;
}
