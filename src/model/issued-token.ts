/** An access token as issued (RFC 6749 §5.1 response fields, plus what the audit trail records). */
export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number;
  /** ISO-8601 UTC with milliseconds, equal to the token's `exp`. */
  readonly expiresAt: string;
  readonly scope: string;
  /** The token's jti (for the audit trail; never logged with the token). */
  readonly jti: string;
}
