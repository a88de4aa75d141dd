/**
 * The address a request comes from, for the lockout and the fair hash queue: the socket's peer; or,
 * only when that peer is a trusted proxy (D1AUTHZ_TRUSTED_PROXIES), the address the proxy says it
 * forwarded for. X-Forwarded-For is read from the right, skipping the trusted proxies themselves:
 * entries left of the first untrusted one were written by the client and prove nothing.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { TrustedProxies } from '../tls/addresses.js';

/** An entry as proxies write it: a bare address, [v6]:port or v4:port; undefined when none of these. */
function entryAddress(entry: string): string | undefined {
  const e = entry.trim();
  if (isIP(e)) return e;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(e);
  if (bracketed && isIP(bracketed[1]!) === 6) return bracketed[1];
  const v4port = /^(\d+\.\d+\.\d+\.\d+):\d{1,5}$/.exec(e);
  if (v4port && isIP(v4port[1]!) === 4) return v4port[1];
  return undefined;
}

export class SourceAddress {
  private readonly trusted: TrustedProxies;

  constructor(trustedProxies: readonly string[]) {
    this.trusted = new TrustedProxies(trustedProxies);
  }

  of(req: IncomingMessage): string | undefined {
    const peer = req.socket.remoteAddress;
    if (!this.trusted.has(peer)) return peer;
    const raw = req.headers['x-forwarded-for'];
    const header = Array.isArray(raw) ? raw.join(',') : raw;
    if (header === undefined || header.trim() === '') return peer;
    const entries = header.split(',');
    let chosen = peer;
    for (let i = entries.length - 1; i >= 0; i--) {
      const address = entryAddress(entries[i]!);
      // A malformed entry from our own proxy means it is misconfigured: keep the last address believed.
      if (address === undefined) return chosen;
      chosen = address;
      if (!this.trusted.has(address)) return address;
    }
    return chosen;
  }
}
