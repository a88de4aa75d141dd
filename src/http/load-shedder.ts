/**
 * Load shedding: a bound on the requests in progress in this process. Past it a request is answered
 * at once, 503 temporarily_unavailable with Retry-After, before anything of it is read, so that the
 * requests already admitted keep their latency instead of everyone's growing with the queue.
 * Health and metrics requests are never shed: a load balancer and Prometheus must see a busy node
 * as alive (and /readyz says whether it can serve).
 *
 * On every request's path: a counter and one shared listener, no allocation.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { temporarilyUnavailable } from '../protocol/oauth-error.js';
import { oauthErrorResponse } from './oauth-error-response.js';

/** Answered whatever the load. */
export const NEVER_SHED = ['/healthz', '/readyz', '/metrics'] as const;

export interface LoadShedder {
  /** True: the request was admitted and is counted until its response closes. False: it was answered 503. */
  admit(req: IncomingMessage, res: ServerResponse): boolean;
  readonly inFlight: () => number;
  readonly shedTotal: () => number;
}

export interface LoadShedderOptions {
  readonly maxInFlight: number;
  readonly realm: string;
  /** Called on a shed request, at most once every `reportEveryMs`, with the total shed so far. */
  readonly onShedding: (shedTotal: number) => void;
  readonly reportEveryMs?: number;
}

export function loadShedder({ maxInFlight, realm, onShedding, reportEveryMs = 10_000 }: LoadShedderOptions): LoadShedder {
  const answer = oauthErrorResponse(temporarilyUnavailable('load shed', 1), realm);
  // The answer is the same bytes every time: built once.
  const body = Buffer.from(answer.body);
  const headers = { ...answer.headers, 'content-length': String(body.length) };
  const exempt = new Set<string>(NEVER_SHED);
  let inFlight = 0;
  let shed = 0;
  let reportedAt = -Infinity;

  function release(): void {
    inFlight--;
  }

  function admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (inFlight >= maxInFlight) {
      // Checked only past the bound, so it costs the usual request nothing; a query string is shed.
      if (exempt.has(req.url ?? '')) return true;
      shed++;
      // The body is left unread: node discards it and keeps the connection, so that a client retrying
      // later pays no new handshake.
      res.writeHead(answer.status, headers);
      res.end(body);
      const now = performance.now();
      if (now - reportedAt >= reportEveryMs) {
        reportedAt = now;
        onShedding(shed);
      }
      return false;
    }
    inFlight++;
    // 'close' comes once per response, answered or aborted.
    res.on('close', release);
    return true;
  }

  return { admit, inFlight: () => inFlight, shedTotal: () => shed };
}
