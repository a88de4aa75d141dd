import type { BasicCredentials } from '../model/client-authentication.js';
import { invalidClient } from './oauth-error.js';

const SCHEME = /^basic[ \t]+/i;
// Both base64 alphabets (the contract says "base64URL", its example is standard base64), padding optional.
const TOKEN68 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** application/x-www-form-urlencoded decoding of the id; null when malformed. */
function formDecode(value: string): string | null {
  if (!value.includes('%') && !value.includes('+')) return value;
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** Parses `Authorization: Basic ...` (RFC 7617 + RFC 6749 §2.3.1). Throws invalid_client. */
export function parseBasicAuthorization(header: string): BasicCredentials {
  const scheme = SCHEME.exec(header);
  if (!scheme) throw invalidClient('authorization scheme is not Basic');
  const token = header.slice(scheme[0].length).trim();
  if (!TOKEN68.test(token) || token.replace(/=+$/, '').length % 4 === 1) {
    throw invalidClient('authorization credentials are not base64');
  }
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  } catch {
    throw invalidClient('authorization credentials are not UTF-8');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('authorization credentials have no colon');
  const rawId = decoded.slice(0, colon);
  const rawSecret = decoded.slice(colon + 1);
  // An id that is not valid form-urlencoding was sent raw: take it as it is.
  const clientId = formDecode(rawId) ?? rawId;
  if (clientId.length === 0 || rawSecret.length === 0) throw invalidClient('empty client id or secret');
  return { clientId, secret: rawSecret };
}
