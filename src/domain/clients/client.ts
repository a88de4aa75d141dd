export type GrantType = 'client_credentials';
export const GRANT_TYPES: readonly GrantType[] = ['client_credentials'];

/** A registered OAuth client (D1 is one). Secrets live apart: see ClientSecret. */
export interface Client {
  readonly clientId: string;
  readonly name: string;
  readonly allowedScopes: readonly string[];
  /** Granted when the request omits `scope`; always a subset of allowedScopes. */
  readonly defaultScopes: readonly string[];
  /** Empty for a client that may not obtain tokens (e.g. an introspection-only resource server). */
  readonly grantTypes: readonly GrantType[];
  /** Per-client `aud` override; null means the server default. */
  readonly audience: string | null;
  /** Per-client token lifetime in seconds; null means the server default. Capped by the server maximum. */
  readonly tokenTtl: number | null;
  readonly enabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ClientSecret {
  readonly id: number;
  /** PHC string, e.g. $scrypt$ln=15,r=8,p=1$salt$hash */
  readonly hash: string;
  readonly createdAt: number;
  /** Set when the secret was rotated out: it keeps working until then (grace period). */
  readonly expiresAt: number | null;
}

/** Syntax for client ids we accept: no colon (Basic auth splits on it), nothing to escape in logs. */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.~-]{1,128}$/;
