/**
 * Token revocation (RFC 7009) and the revocation feed for resource servers.
 * A revocation is a row in the store plus a 'revocation' change: the node that takes it applies it at
 * once, the other nodes within one sync interval (the change feed makes them pull), and guards that
 * follow the feed within their poll interval. Rows leave the store once no token they concern can
 * still be valid (pruned here, by every node: deleting is idempotent).
 */
import type { Revocation } from '../../model/revocation.js';
import type { RevocationRepository } from '../../store/revocation-repository.js';
import { StoreUnavailableError } from '../clients/client-directory.js';
import type { TokenVerifier } from '../tokens/token-verifier.js';
import type { RevocationList } from './revocation-list.js';
import { toAuditRow, type AuditEvent } from '../audit/audit-event.js';
import { sourceAddress, type RequestOrigin } from '../audit/request-audit.js';

export type RevocationOutcome = 'revoked' | 'already_revoked' | 'not_owner' | 'invalid_token' | 'expired';

export type FeedItem =
  | { readonly type: 'token'; readonly jti: string; readonly client_id: string; readonly until: number }
  | { readonly type: 'client'; readonly client_id: string; readonly issued_before: number | null; readonly until: number }
  | { readonly type: 'key'; readonly kid: string; readonly until: number };

export interface FeedPage {
  readonly items: readonly FeedItem[];
  readonly nextCursor: number;
  readonly hasMore: boolean;
}

export interface RevocationPolicy {
  /** Seconds a revoked token is remembered after its exp (verifiers accept tokens this late). */
  readonly clockSkew: number;
  /** A safety net on top of the change feed: re-read the store at least this often (ms). */
  readonly resyncIntervalMs: number;
  /** How often expired rows are deleted from the store (ms). */
  readonly pruneIntervalMs: number;
  readonly pageSize?: number;
}

const toSeconds = (ms: number) => Math.ceil(ms / 1000);

/** A store failure on a request path is "retry later" (503), not an internal error. */
async function fromStore<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new StoreUnavailableError(`store unreachable while ${what}: ${(err as Error).message}`);
  }
}

export class RevocationService {
  private syncing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly repo: RevocationRepository,
    private readonly list: RevocationList,
    private readonly verifier: TokenVerifier,
    private readonly policy: RevocationPolicy,
    private readonly onError: (err: Error, what: string) => void,
    private readonly now: () => number = Date.now,
    /** token.revoked is written in the revocation's transaction, logged after it committed. */
    private readonly auditLog?: (event: AuditEvent, at: number) => void,
  ) {}

  /** Loads every live revocation, then keeps the list current. */
  async start(): Promise<void> {
    await this.sync();
    const every = (ms: number, run: () => Promise<unknown>, what: string) => {
      const timer = setInterval(() => void run().catch((err: Error) => this.onError(err, what)), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.policy.resyncIntervalMs, () => this.sync(), 'revocation sync');
    every(this.policy.pruneIntervalMs, () => this.prune(), 'revocation prune');
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  /**
   * Pulls every row committed before the call. A pull already in flight may have read before the
   * caller's row committed, so callers arriving meanwhile share one more pull after it, never just it.
   */
  sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.pull().finally(() => (this.syncing = undefined));
      return this.syncing;
    }
    this.queued ??= this.syncing
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        return this.sync();
      });
    return this.queued;
  }

  private async pull(): Promise<void> {
    const limit = this.policy.pageSize ?? 1000;
    for (;;) {
      const rows = await this.repo.since(this.list.seq, limit);
      this.list.apply(rows, this.now());
      if (rows.length < limit) break;
    }
  }

  /**
   * RFC 7009 §2.1: the server "verifies whether the token was issued to the client making the
   * revocation request". Only then is it revoked; every other case is answered 200 by the endpoint
   * (RFC 7009 §2.2: "invalid tokens do not cause an error response"), so a caller holding someone
   * else's token learns nothing about it.
   */
  async revoke(callerClientId: string, token: string, origin?: RequestOrigin): Promise<RevocationOutcome> {
    const verified = this.verifier.verify(token);
    if (!verified.ok) return verified.reason === 'expired' ? 'expired' : 'invalid_token';
    const { claims } = verified;
    if (claims.client_id !== callerClientId) return 'not_owner';
    const expiresAt = (claims.exp + this.policy.clockSkew) * 1000;
    const at = this.now();
    const event: AuditEvent = {
      type: 'token.revoked',
      actor: callerClientId,
      clientId: claims.client_id,
      address: sourceAddress(origin),
      correlationId: origin?.correlationId,
      details: { jti: claims.jti, exp: new Date(claims.exp * 1000).toISOString() },
    };
    const audit = this.auditLog ? toAuditRow(event, at) : undefined;
    const inserted = await fromStore('revoking a token', () => this.repo.revokeToken({ jti: claims.jti, clientId: claims.client_id, expiresAt, at }, audit));
    if (inserted) this.auditLog?.(event, at);
    this.list.addToken(claims.jti, expiresAt);
    return inserted ? 'revoked' : 'already_revoked';
  }

  /** One page of the feed after `cursor` (0: from the start), read from the store so every node agrees. */
  async feed(cursor: number): Promise<FeedPage> {
    const limit = this.policy.pageSize ?? 1000;
    const rows = await fromStore('reading the revocation feed', () => this.repo.since(cursor, limit));
    const now = this.now();
    return {
      items: rows.filter((r) => r.expiresAt > now).map(toItem),
      nextCursor: rows.length ? rows[rows.length - 1]!.seq : cursor,
      hasMore: rows.length === limit,
    };
  }

  async prune(): Promise<number> {
    const now = this.now();
    this.list.prune(now);
    return this.repo.prune(now);
  }
}

function toItem(row: Revocation): FeedItem {
  if (row.kind === 'token' && row.jti !== null) return { type: 'token', jti: row.jti, client_id: row.clientId, until: toSeconds(row.expiresAt) };
  // Every token signed by this kid (a withdrawn key): a reader matches it against the token's header.
  if (row.kind === 'key' && row.kid !== null) return { type: 'key', kid: row.kid, until: toSeconds(row.expiresAt) };
  return {
    type: 'client',
    client_id: row.clientId,
    // JWT NumericDate, compared with iat: tokens with iat < issued_before are revoked (see revokedByCutoff).
    issued_before: row.issuedBefore === null ? null : Math.floor(row.issuedBefore / 1000),
    until: toSeconds(row.expiresAt),
  };
}
