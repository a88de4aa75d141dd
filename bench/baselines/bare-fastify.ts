// Framework ceiling: bare Fastify answering the token route with a constant, token-shaped body.
// No authentication, no signing per request, no logging. The body is a real ES256 JWT signed
// ONCE at startup (so the harness's JWT/JWKS check passes); every request gets the same bytes.
//
// Env: PORT (required). Prints `READY <port>` on stdout once listening.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';

import Fastify from 'fastify';

import {
  BENCH_AUDIENCE,
  BENCH_REQUEST_SCOPE,
  HEALTH_PATH,
  JWKS_PATH,
  TOKEN_PATH,
  TOKEN_TTL_S,
  b64urlJson,
  portFromEnv,
} from '../lib/shared.js';

const port = portFromEnv();

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const publicJwk = publicKey.export({ format: 'jwk' });
const kid = createHash('sha256').update(JSON.stringify(publicJwk)).digest('base64url');
const iat = Math.floor(Date.now() / 1000);
// Valid for TOKEN_TTL_S after startup; one target's run is far shorter than that.
const exp = iat + TOKEN_TTL_S;
const signingInput = `${b64urlJson({ alg: 'ES256', typ: 'at+jwt', kid })}.${b64urlJson({
  iss: `http://127.0.0.1:${port}`,
  sub: 'bench-client',
  aud: BENCH_AUDIENCE,
  client_id: 'bench-client',
  scope: BENCH_REQUEST_SCOPE,
  iat,
  exp,
  jti: 'constant',
})}`;
const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
const TOKEN_BODY = JSON.stringify({
  access_token: `${signingInput}.${signature.toString('base64url')}`,
  token_type: 'Bearer',
  expires_in: String(TOKEN_TTL_S),
  scope: BENCH_REQUEST_SCOPE,
  expires_at: new Date(exp * 1000).toISOString(),
});
const JWKS_BODY = JSON.stringify({ keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] });

const app = Fastify({ logger: false });

// Fastify 5 has no form parser built in; accept the body as an opaque string (ceiling = no work).
app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
  done(null, body);
});

app.post(TOKEN_PATH, async (_req, reply) => {
  reply
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache');
  return TOKEN_BODY;
});
app.get(JWKS_PATH, async (_req, reply) => {
  reply.header('content-type', 'application/json; charset=utf-8');
  return JWKS_BODY;
});
app.get(HEALTH_PATH, async () => ({ status: 'ok' }));

const stop = (): void => {
  void app.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`READY ${port}\n`);
