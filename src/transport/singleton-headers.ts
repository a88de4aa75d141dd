/**
 * Header fields a request may carry once. node:http keeps the first of a repeated Authorization,
 * Content-Type or Host and drops the rest, so a second one would pass unseen; it is refused instead:
 *   RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
 *   request message that lacks a Host header field and to any request message that contains more
 *   than one Host header field line".
 *   RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
 * Content-Length is here too, should the parser ever be run leniently.
 *
 * On the token endpoint's hot path: one pass over rawHeaders, comparing lengths first, no allocation
 * for the usual spellings.
 */
import type { IncomingMessage } from 'node:http';

const HOST = 1;
const AUTHORIZATION = 2;
const CONTENT_TYPE = 4;
const CONTENT_LENGTH = 8;

const NAMES: Record<number, string> = { [HOST]: 'Host', [AUTHORIZATION]: 'Authorization', [CONTENT_TYPE]: 'Content-Type', [CONTENT_LENGTH]: 'Content-Length' };

const is = (name: string, lower: string, usual: string) => name === usual || name === lower || name.toLowerCase() === lower;

function fieldBit(name: string): number {
  switch (name.length) {
    case 4:
      return is(name, 'host', 'Host') ? HOST : 0;
    case 12:
      return is(name, 'content-type', 'Content-Type') ? CONTENT_TYPE : 0;
    case 13:
      return is(name, 'authorization', 'Authorization') ? AUTHORIZATION : 0;
    case 14:
      return is(name, 'content-length', 'Content-Length') ? CONTENT_LENGTH : 0;
    default:
      return 0;
  }
}

/** Why the request's header fields are refused (a repeated singleton field, or no Host in HTTP/1.1), or undefined. */
export function singletonFieldProblem(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const bit = fieldBit(raw[i]!);
    if (bit === 0) continue;
    if ((seen & bit) !== 0) return `the ${NAMES[bit]} header is repeated`;
    seen |= bit;
  }
  if ((seen & HOST) === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor === 1) return 'the Host header is missing';
  return undefined;
}
