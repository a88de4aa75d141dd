/**
 * The address a lock applies to. IPv4 as is (an IPv4-mapped IPv6 address counts as its IPv4);
 * IPv6 by its /64, since one host is routinely given a whole /64 and could otherwise try each
 * of its 2^64 addresses in turn.
 */
import { isIP } from 'node:net';

function expandIpv6(address: string): number[] | undefined {
  const [head = '', tail, ...rest] = address.split('::');
  if (rest.length) return undefined;
  const part = (s: string) => (s === '' ? [] : s.split(':').map((h) => (/^[0-9a-f]{1,4}$/i.test(h) ? parseInt(h, 16) : NaN)));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<number>(Math.max(fill, 0)).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

/** The lock key of an address; undefined when it is not an IP address. */
export function lockoutAddress(address: string): string | undefined {
  const a = address.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1];
  const version = isIP(a);
  if (version === 4) return a;
  if (version !== 6) return undefined;
  // Dotted tails (::1.2.3.4, not mapped) are rare enough to key whole.
  if (a.includes('.')) return a.toLowerCase();
  const groups = expandIpv6(a);
  if (!groups) return undefined;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}
