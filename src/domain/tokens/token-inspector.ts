/**
 * Is this token active (RFC 7662 §2.2)? Ours (signature against the published keys, our issuer),
 * not expired, not revoked (by jti or by a client-wide cut-off), and its client still exists and is
 * enabled. Everything is answered from memory; only an unknown client id may cost a store read.
 */
import type { ClientDirectory } from '../clients/client-directory.js';
import type { RevocationList } from '../revocations/revocation-list.js';
import type { TokenRejection, TokenVerifier } from './token-verifier.js';
import type { AccessTokenClaims } from '../../model/access-token-claims.js';

export type InactiveReason = TokenRejection | 'revoked' | 'client_revoked' | 'key_revoked' | 'unknown_client' | 'client_disabled';

export type TokenInspection = { readonly active: true; readonly claims: AccessTokenClaims } | { readonly active: false; readonly reason: InactiveReason };

export class TokenInspector {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly revocations: RevocationList,
    private readonly directory: ClientDirectory,
  ) {}

  /** Throws StoreUnavailableError when the client's state cannot be known (the endpoint answers 503). */
  async inspect(token: string): Promise<TokenInspection> {
    const verified = this.verifier.verify(token);
    if (!verified.ok) return { active: false, reason: verified.reason };
    const { claims } = verified;
    const revoked = this.revocations.match(claims, verified.kid);
    if (revoked) return { active: false, reason: revoked === 'token' ? 'revoked' : revoked === 'key' ? 'key_revoked' : 'client_revoked' };
    const record = await this.directory.get(claims.client_id);
    if (!record) return { active: false, reason: 'unknown_client' };
    if (!record.client.enabled) return { active: false, reason: 'client_disabled' };
    return { active: true, claims };
  }
}
