/**
 * What the logger censors whatever code logs it (defence in depth: nothing is meant to log these).
 * Every place a credential can sit in a logged object: request headers (Authorization,
 * Proxy-Authorization, Cookie), form fields (client_secret, token), issued tokens, request bodies,
 * and the HTTP parser's error, whose rawPacket is the request's bytes as received.
 *
 * Explicit paths only: a pino `*` wildcard walks every key of every line, and made the token
 * endpoint's one request line an order of magnitude dearer (measured with a log-call loop).
 */
const HEADERS = ['authorization', '["proxy-authorization"]', 'cookie'];
const FIELDS = ['client_secret', 'clientSecret', 'secret', 'token', 'access_token', 'refresh_token', 'client_assertion', 'rawPacket', 'body', 'pkcs11Pin'];

const under = (prefix: string, field: string) => (field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`);

export const REDACTED_PATHS: readonly string[] = [
  ...HEADERS,
  ...FIELDS,
  ...['headers', 'req.headers', 'request.headers', 'res.headers'].flatMap((p) => HEADERS.map((h) => under(p, h))),
  // pino's err serializer keeps an error's own properties: node:http's parser errors carry rawPacket.
  ...['err', 'error', 'err.cause', 'error.cause'].map((p) => `${p}.rawPacket`),
  'req.body',
  'request.body',
];
