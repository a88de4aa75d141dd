import { invalidRequest } from './oauth-error.js';

const FORM = 'application/x-www-form-urlencoded';
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/** RFC 6749 §3.2: the token endpoint takes application/x-www-form-urlencoded; a UTF-8 (or ASCII) charset is fine. */
export function assertFormContentType(contentType: string | undefined): void {
  if (!contentType) throw invalidRequest('content-type must be application/x-www-form-urlencoded');
  const [mediaType, ...params] = contentType.split(';');
  if (mediaType!.trim().toLowerCase() !== FORM) {
    throw invalidRequest('content-type must be application/x-www-form-urlencoded', `got ${mediaType!.trim().slice(0, 64)}`);
  }
  for (const param of params) {
    const [name, value = ''] = param.split('=');
    if (name!.trim().toLowerCase() !== 'charset') continue;
    const charset = value.trim().replace(/^"|"$/g, '').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
      throw invalidRequest('only the UTF-8 charset is supported');
    }
  }
}

/**
 * Parses the form body into a map.
 * RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
 * RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted."
 */
export function parseFormBody(body: string): ReadonlyMap<string, string> {
  if (BAD_PERCENT.test(body)) throw invalidRequest('the request body is not valid form-urlencoded');
  const params = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (seen.has(name)) throw invalidRequest(`parameter ${safeName(name)} is repeated`);
    seen.add(name);
    if (value !== '') params.set(name, value);
  }
  return params;
}

/** Parameter names are echoed in descriptions: keep them short and printable. */
function safeName(name: string): string {
  return /^[a-z_]{1,32}$/.test(name) ? name : 'a parameter';
}
