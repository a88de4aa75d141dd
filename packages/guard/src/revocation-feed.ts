/**
 * Revocation checking from the d1-authz revocation feed: polls `GET {issuer}/oauth2/revocations`
 * and keeps, in memory, the revoked jtis and the client-wide cut-offs (a disabled, re-enabled or
 * deleted client). `isRevoked` is then a synchronous lookup: no request per token.
 *
 *   const feed = createRevocationFeed({ url: `${issuer}/oauth2/revocations`, clientId, clientSecret });
 *   await feed.start();
 *   const guard = createGuard({ issuer, audience, isRevoked: feed.isRevoked });
 *
 * A revoked token is refused at most one poll interval (plus one request) after the revocation is
 * committed: the feed is read from the store, so it does not depend on which node answers.
 * Until the first load, and when no poll has succeeded for `maxStalenessMs`, isRevoked throws, so
 * the guard answers 503 rather than accept a token it cannot check (fail closed).
 */
import type { AccessTokenClaims } from './guard.js';
import { basicAuthorization, checkCredentials, checkEndpoint, parseJsonAnswer, type ResourceServerCredentials } from './client-credentials.js';
import { createTransport } from './transport.js';
import { D1AuthzError } from './error-family.js';

export interface RevocationFeedOptions extends ResourceServerCredentials {
  /** The feed endpoint: `${issuer}/oauth2/revocations`. */
  url: string | URL;
  /** Time between polls (ms). Default 1000. This is the revocation delay bound. */
  pollIntervalMs?: number;
  /** Per-request timeout (ms). Default 5000. */
  fetchTimeoutMs?: number;
  /** isRevoked throws when the last successful poll is older than this (ms). Default 60000; 0 never. */
  maxStalenessMs?: number;
  /** Called on each failed poll (the feed retries at the next interval). */
  onError?: (err: Error) => void;
  /** Allow an http: URL on a non-loopback host. Default false. */
  allowInsecure?: boolean;
}

export interface RevocationFeedStats {
  polls: number;
  failures: number;
  revokedTokens: number;
  revokedClients: number;
  cursor: string;
  /** Epoch ms of the last successful poll, or null. */
  lastSuccessAt: number | null;
}

export interface RevocationFeed {
  /** Loads the feed (rejects if the first load fails; polling goes on regardless), then polls. */
  start(): Promise<void>;
  /** Stops polling and aborts a poll in flight; resolves once it has settled. */
  stop(): Promise<void>;
  /** Poll now (single flight). */
  poll(): Promise<void>;
  /** For createGuard's isRevoked. Throws when the feed is not loaded or too stale. */
  readonly isRevoked: (claims: Readonly<AccessTokenClaims>) => boolean;
  readonly ready: boolean;
  stats(): RevocationFeedStats;
}

export class RevocationFeedError extends D1AuthzError {
  override readonly name = 'RevocationFeedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_REVOCATION_FEED', message, { cause: options?.cause });
  }
}

interface Cutoff {
  /** NumericDate: tokens with iat before it are revoked; null: all tokens of the client. */
  readonly issuedBefore: number | null;
  readonly until: number;
}

const isNonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isSeconds = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  checkCredentials(options);
  const base = checkEndpoint('url', options.url, options.allowInsecure);
  const transport = createTransport('url', base, options.tls);
  const authorization = basicAuthorization(options);
  const interval = options.pollIntervalMs ?? 1000;
  const timeoutMs = options.fetchTimeoutMs ?? 5000;
  const maxStaleness = options.maxStalenessMs ?? 60_000;
  if (!Number.isFinite(interval) || interval < 10) throw new TypeError('pollIntervalMs must be at least 10');

  const tokens = new Map<string, number>();
  const clients = new Map<string, Cutoff>();
  let cursor = '0';
  let lastSuccessAt: number | null = null;
  let inflight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let abort = new AbortController();
  const counters = { polls: 0, failures: 0 };

  function apply(items: unknown[]): void {
    for (const item of items) {
      if (item === null || typeof item !== 'object') continue;
      const i = item as Record<string, unknown>;
      if (!isSeconds(i.until)) continue;
      if (i.type === 'token' && isNonEmpty(i.jti)) tokens.set(i.jti, i.until);
      else if (i.type === 'client' && isNonEmpty(i.client_id) && (i.issued_before === null || isSeconds(i.issued_before))) {
        // In feed order: a later cut-off (e.g. the re-enable after a disable) replaces the earlier one.
        clients.set(i.client_id, { issuedBefore: i.issued_before, until: i.until });
      }
      // Unknown item types come from a newer server: skipped, not fatal.
    }
  }

  function prune(nowSeconds: number): void {
    for (const [jti, until] of tokens) if (until < nowSeconds) tokens.delete(jti);
    for (const [id, c] of clients) if (c.until < nowSeconds) clients.delete(id);
  }

  async function page(): Promise<boolean> {
    const url = new URL(base);
    url.searchParams.set('since', cursor);
    const { status, text } = await transport.request(url, {
      method: 'GET',
      headers: { authorization, accept: 'application/json' },
      signal: AbortSignal.any([abort.signal, AbortSignal.timeout(timeoutMs)]),
      maxBytes: 16 * 1024 * 1024,
    });
    if (status !== 200) throw new RevocationFeedError(`revocation feed answered HTTP ${status}`);
    const body = parseJsonAnswer(text) as Record<string, unknown> | null;
    if (!body || !Array.isArray(body.revocations) || !isNonEmpty(body.next_cursor)) throw new RevocationFeedError('malformed revocation feed page');
    apply(body.revocations);
    cursor = body.next_cursor;
    return body.has_more === true;
  }

  async function pollOnce(): Promise<void> {
    counters.polls++;
    try {
      // Drain every page before declaring the view current.
      while (await page());
      lastSuccessAt = Date.now();
      prune(Math.floor(lastSuccessAt / 1000));
    } catch (err) {
      counters.failures++;
      const error = err instanceof RevocationFeedError ? err : new RevocationFeedError('revocation feed poll failed', { cause: err });
      if (running) options.onError?.(error); // an abort by stop() is not an error
      throw error;
    }
  }

  function poll(): Promise<void> {
    inflight ??= pollOnce().finally(() => (inflight = undefined));
    return inflight;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      poll()
        .catch(() => undefined)
        .finally(schedule);
    }, interval);
    timer.unref();
  }

  const isRevoked = (claims: Readonly<AccessTokenClaims>): boolean => {
    if (lastSuccessAt === null) throw new RevocationFeedError('the revocation feed is not loaded yet');
    if (maxStaleness > 0 && Date.now() - lastSuccessAt > maxStaleness) throw new RevocationFeedError('the revocation feed is stale');
    if (typeof claims.jti === 'string' && tokens.has(claims.jti)) return true;
    const cutoff = clients.get(claims.client_id);
    return cutoff !== undefined && (cutoff.issuedBefore === null || claims.iat < cutoff.issuedBefore);
  };

  return {
    async start() {
      if (running) return;
      running = true;
      abort = new AbortController();
      try {
        await poll();
      } finally {
        schedule();
      }
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      abort.abort();
      await inflight?.catch(() => undefined);
    },
    poll,
    isRevoked,
    get ready() {
      return lastSuccessAt !== null;
    },
    stats: () => ({ ...counters, revokedTokens: tokens.size, revokedClients: clients.size, cursor, lastSuccessAt }),
  };
}
