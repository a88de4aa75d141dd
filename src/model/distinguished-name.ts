/**
 * Distinguished names as strings (RFC 4514), compared the way RFC 8705 §2.1.2 needs:
 * `tls_client_auth_subject_dn` is "a string representation -- as defined in [RFC4514] -- of the
 * expected subject distinguished name of the certificate".
 *
 * Two DNs match when they have the same RDNs in the same order, each with the same attribute
 * types and values; types are compared by name or OID, values after unescaping, trimming,
 * collapsing inner whitespace and case folding (the caseIgnoreMatch of RFC 4517 that directory
 * strings use in practice). Framework-free: pure string work.
 */
import { D1AuthzError } from '../errors/d1authz-error.js';

/** Short names for the usual OIDs, and the aliases operators type. */
const TYPE_ALIASES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  S: 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'SERIALNUMBER',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'EMAILADDRESS',
  E: 'EMAILADDRESS',
  EMAIL: 'EMAILADDRESS',
};

const TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$/;
const MAX_DN_LENGTH = 1024;

export class DistinguishedNameError extends D1AuthzError {
  override readonly name = 'DistinguishedNameError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_DISTINGUISHED_NAME', message, options);
  }
}

/** Splits on `separator` where it is not escaped by a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** RFC 4514 §3 unescaping: `\` + special character, or `\` + two hex digits (one UTF-8 byte). */
function unescapeValue(raw: string): string {
  const bytes: number[] = [];
  const pushText = (s: string) => bytes.push(...Buffer.from(s, 'utf8'));
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch !== '\\') {
      pushText(ch);
      continue;
    }
    const next = raw.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(next)) {
      bytes.push(parseInt(next, 16));
      i += 2;
    } else if (i + 1 < raw.length) {
      pushText(raw[i + 1]!);
      i += 1;
    } else {
      throw new DistinguishedNameError('a value ends with a lone backslash');
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function normalizeValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}

function escapeValue(value: string): string {
  return value.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`);
}

/**
 * Parses an RFC 4514 string (e.g. `CN=d1 client,O=Thales,C=FR`) into its canonical form.
 * Throws DistinguishedNameError when it is not one.
 */
export function canonicalDn(dn: string): string {
  if (dn.length === 0 || dn.length > MAX_DN_LENGTH) throw new DistinguishedNameError('a distinguished name must be 1 to 1024 characters');
  const rdns = splitUnescaped(dn, ',').map((rdn) => {
    const avas = splitUnescaped(rdn, '+').map((ava) => {
      const eq = ava.indexOf('=');
      if (eq <= 0) throw new DistinguishedNameError(`"${ava.trim().slice(0, 64)}" is not TYPE=value`);
      const rawType = ava.slice(0, eq).trim();
      if (!TYPE.test(rawType)) throw new DistinguishedNameError(`"${rawType.slice(0, 64)}" is not an attribute type`);
      const upper = rawType.toUpperCase();
      const type = TYPE_ALIASES[upper] ?? TYPE_ALIASES[rawType] ?? upper;
      const value = normalizeValue(unescapeValue(ava.slice(eq + 1)));
      if (value === '') throw new DistinguishedNameError(`the ${type} value is empty`);
      return `${type}=${escapeValue(value)}`;
    });
    return avas.sort().join('+');
  });
  return rdns.join(',');
}

/** true when the string is an RFC 4514 distinguished name we can compare. */
export function isValidDn(dn: string): boolean {
  try {
    canonicalDn(dn);
    return true;
  } catch {
    return false;
  }
}

/** Compares two RFC 4514 strings; a malformed one matches nothing. */
export function dnEquals(a: string, b: string): boolean {
  try {
    return canonicalDn(a) === canonicalDn(b);
  } catch {
    return false;
  }
}

/** Rank of the usual attribute types from the top of the directory tree (country, domain) to the leaf (common name). */
const TREE_RANK: Readonly<Record<string, number>> = { DC: 0, C: 0, ST: 1, L: 2, O: 3, OU: 4, CN: 5, UID: 5, EMAILADDRESS: 6 };

/**
 * RFC 4514 §2.1 writes the RDNs "starting with the last element of the sequence and moving backwards
 * toward the first": the leaf (CN) first, the country last. openssl and most tools display the
 * certificate's own order, country first (`C=FR, O=Thales, CN=d1`); such a DN never matches.
 * When `dn` reads from the top of the tree down to the leaf, returns its RFC 4514 form (RDNs reversed),
 * else undefined.
 */
export function displayOrderToRfc4514(dn: string): string | undefined {
  let rdns: string[];
  try {
    canonicalDn(dn);
    rdns = splitUnescaped(dn, ',').map((r) => r.trim());
  } catch {
    return undefined;
  }
  const ranks = rdns
    .map((rdn) => {
      const type = rdn.slice(0, rdn.indexOf('=')).trim().toUpperCase();
      return TREE_RANK[TYPE_ALIASES[type] ?? type];
    })
    .filter((r): r is number => r !== undefined);
  if (ranks.length < 2 || ranks[0]! >= ranks[ranks.length - 1]!) return undefined;
  return [...rdns].reverse().join(',');
}
