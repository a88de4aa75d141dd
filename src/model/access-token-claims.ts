/** The claims this server writes into its access tokens (RFC 9068 §2.2), as its own verifier reads them back. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly client_id: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly scope?: string;
  /** RFC 8705 §3.1 confirmation of a certificate-bound token, passed through as issued. */
  readonly cnf?: Readonly<Record<string, unknown>>;
}
