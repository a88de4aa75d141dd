/**
 * This node's in-memory view of the `revocations` table, so introspection never waits on the store.
 * Rows are applied in seq order: a later client cut-off replaces an earlier one (disable, then enable).
 */
import type { Revocation } from '../../model/revocation.js';

interface ClientCutoff {
  /** Epoch ms; null means every token of the client. */
  readonly issuedBefore: number | null;
  readonly expiresAt: number;
}

export type RevocationMatch = 'token' | 'client' | 'key' | undefined;

/**
 * Token `iat` is whole seconds, so a cut-off at time T (ms) revokes the tokens whose iat is before
 * the second T falls in: a token minted in the same second just after an enable stays valid.
 */
export function revokedByCutoff(iatSeconds: number, issuedBeforeMs: number | null): boolean {
  return issuedBeforeMs === null || iatSeconds < Math.floor(issuedBeforeMs / 1000);
}

export class RevocationList {
  private readonly tokens = new Map<string, number>();
  private readonly clients = new Map<string, ClientCutoff>();
  /** Withdrawn signing keys (`keys revoke`): kid -> until when it matters. */
  private readonly keys = new Map<string, number>();
  private lastSeq = 0;

  /** The highest seq applied: the next read starts after it. */
  get seq(): number {
    return this.lastSeq;
  }

  get size(): number {
    return this.tokens.size + this.clients.size + this.keys.size;
  }

  apply(rows: readonly Revocation[], now: number): void {
    for (const row of rows) {
      if (row.seq <= this.lastSeq) continue;
      this.lastSeq = row.seq;
      if (row.expiresAt <= now) continue;
      if (row.kind === 'token' && row.jti !== null) this.tokens.set(row.jti, row.expiresAt);
      else if (row.kind === 'key' && row.kid !== null) this.keys.set(row.kid, row.expiresAt);
      else if (row.kind === 'client') this.clients.set(row.clientId, { issuedBefore: row.issuedBefore, expiresAt: row.expiresAt });
    }
  }

  /** Records a revocation made on this node at once, before the store round trip comes back. */
  addToken(jti: string, expiresAt: number): void {
    this.tokens.set(jti, expiresAt);
  }

  /** `kid`: the key that signed the token (from its verified header). */
  match(claims: { readonly jti: string; readonly client_id: string; readonly iat: number }, kid?: string): RevocationMatch {
    if (this.tokens.has(claims.jti)) return 'token';
    if (kid !== undefined && this.keys.has(kid)) return 'key';
    const cutoff = this.clients.get(claims.client_id);
    if (cutoff && revokedByCutoff(claims.iat, cutoff.issuedBefore)) return 'client';
    return undefined;
  }

  prune(now: number): void {
    for (const [jti, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(jti);
    for (const [clientId, cutoff] of this.clients) if (cutoff.expiresAt <= now) this.clients.delete(clientId);
    for (const [kid, expiresAt] of this.keys) if (expiresAt <= now) this.keys.delete(kid);
  }
}
