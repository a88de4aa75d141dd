/**
 * Where a request came from, for its log line and the audit trail: the socket's peer address and,
 * only when that peer is a trusted proxy (D1AUTHZ_TRUSTED_PROXIES), the client address it forwarded
 * in X-Forwarded-For. Anyone else's X-Forwarded-For is ignored: it is whatever the caller wrote.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { RequestOrigin } from '../domain/audit/request-audit.js';
import { TrustedProxies } from '../tls/addresses.js';

export class RequestOrigins {
  private readonly proxies: TrustedProxies;

  constructor(trustedProxies: readonly string[]) {
    this.proxies = new TrustedProxies(trustedProxies);
  }

  of(req: IncomingMessage, correlationId: string): RequestOrigin {
    const address = req.socket.remoteAddress;
    if (!this.proxies.has(address)) return { address, correlationId };
    return { address, forwardedFor: this.forwarded(req.headers['x-forwarded-for']), correlationId };
  }

  /**
   * The right-most entry that is not itself a trusted proxy: the address the outermost trusted proxy
   * saw. Entries to its left were written by the caller and prove nothing. Not an address: none.
   */
  private forwarded(header: string | string[] | undefined): string | undefined {
    if (header === undefined) return undefined;
    const entries = (Array.isArray(header) ? header.join(',') : header).split(',').map((e) => e.trim());
    for (let i = entries.length - 1; i >= 0; i--) {
      const entry = entries[i]!;
      if (isIP(entry) === 0) return undefined;
      if (!this.proxies.has(entry)) return entry;
    }
    return undefined;
  }
}
