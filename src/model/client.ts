/** The contract types expires_in as a JSON string ("900"); RFC 6749 §5.1 and most OAuth libraries want a number. */
export type ExpiresInFormat = 'string' | 'number';
export const EXPIRES_IN_FORMATS: readonly ExpiresInFormat[] = ['string', 'number'];

export type GrantType = 'client_credentials';
export const GRANT_TYPES: readonly GrantType[] = ['client_credentials'];

/** RFC 7591 token_endpoint_auth_method values we support (RFC 6749 §2.3.1, RFC 8705 §2.1). */
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'tls_client_auth';
export const TOKEN_ENDPOINT_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'tls_client_auth'];

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
  /** May call the introspection endpoint and read the revocation feed (a resource server). Absent means false. */
  readonly introspect?: boolean;
  /** Token response shape for this client (migration 0013); null or absent means the server's setting. */
  readonly expiresInFormat?: ExpiresInFormat | null;
  /** Whether its token responses carry expires_at; null or absent means the server's setting. */
  readonly expiresAt?: boolean | null;
  // RFC 8705 (mTLS). Absent means client_secret_basic, no certificate, unbound tokens.
  /** How the client authenticates at the token endpoint. */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** RFC 8705 §2.1.2: expected subject DN (RFC 4514 string) of the client certificate. */
  readonly tlsClientAuthSubjectDn?: string | null;
  /** RFC 8705 §2.1.2: expected dNSName SAN entry. */
  readonly tlsClientAuthSanDns?: string | null;
  /** RFC 8705 §2.1.2: expected uniformResourceIdentifier SAN entry. */
  readonly tlsClientAuthSanUri?: string | null;
  /** RFC 8705 §2.1.2: expected rfc822Name SAN entry. */
  readonly tlsClientAuthSanEmail?: string | null;
  /** Pinned certificate: base64url SHA-256 of its DER (x5t#S256). */
  readonly tlsClientCertificateThumbprint?: string | null;
  /** RFC 8705 §3: tokens carry cnf.x5t#S256 of the certificate used at the token endpoint. */
  readonly certificateBoundTokens?: boolean;
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
