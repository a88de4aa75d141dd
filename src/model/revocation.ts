/**
 * One entry of the revocation feed, as the domain reads it: a token (by jti), every token of a client
 * issued before a cut-off, or every token signed by a withdrawn key. Times are epoch ms.
 */
export interface Revocation {
  /** Feed order: each node reads the entries after the last seq it applied. */
  readonly seq: number;
  readonly kind: 'token' | 'client' | 'key';
  readonly jti: string | null;
  /** '' for a 'key' entry. */
  readonly clientId: string;
  /** A 'client' entry: tokens issued before this are revoked; null: all of them. */
  readonly issuedBefore: number | null;
  /** When no token the entry covers can still be valid: the entry may then be forgotten. */
  readonly expiresAt: number;
  readonly createdAt: number;
  /** The withdrawn key of a 'key' entry. */
  readonly kid: string | null;
}
