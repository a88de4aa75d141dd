// "Floor of real work" over mutual TLS: the least a correct client_credentials token endpoint
// must do behind node:https with a required client certificate, with nothing but node:https +
// node:crypto. Node's TLS defaults otherwise (session tickets on, keys random per process).
//   - Basic client authentication for ONE fixed client (timingSafeEqual on SHA-256 digests)
//   - form body parsing (grant_type=client_credentials[&scope=...])
//   - an ES256 JWT signed with node:crypto (KeyObject, ieee-p1363 signature encoding)
//   - the D1 JSON answer
//   - with BOUND=1: cnf.x5t#S256 of the client certificate, hashed once per connection
// No logging, no database, no framework.
//
// Env: PORT (required), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET (required),
//      TLS_CERT, TLS_KEY, TLS_CLIENT_CA (PEM paths, required), BOUND (1 = certificate-bound tokens),
//      WORKERS (1 = single process, N > 1 = node:cluster with N workers; default 1).
// Prints `READY <port>` on stdout once listening (in cluster mode: once every worker listens).

import cluster from 'node:cluster';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';

import {
  BENCH_AUDIENCE,
  BENCH_SCOPES,
  HEALTH_PATH,
  JWKS_PATH,
  TOKEN_PATH,
  TOKEN_TTL_S,
  b64urlJson,
  portFromEnv,
  requireEnv,
} from '../lib/shared.js';

const KEY_ENV = 'BENCH_FLOOR_SIGNING_KEY_PEM';
const bound = process.env['BOUND'] === '1';
const MAX_BODY = 4096;

const port = portFromEnv();
const workers = Math.max(1, Number.parseInt(process.env['WORKERS'] ?? '1', 10) || 1);

if (workers > 1 && cluster.isPrimary) {
  runPrimary();
} else {
  runServer();
}

function runPrimary(): void {
  // One signing key for all workers, so the JWKS is the same whichever worker answers.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork({ [KEY_ENV]: pem });
    w.once('listening', () => {
      listening++;
      if (listening === workers) process.stdout.write(`READY ${port}\n`);
    });
  }
  let shuttingDown = false;
  const shutdown = (code: number): void => {
    shuttingDown = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    setTimeout(() => process.exit(code), 200).unref();
  };
  cluster.on('exit', (w, code, signal) => {
    if (!shuttingDown) {
      process.stderr.write(`worker ${w.process.pid ?? '?'} died (${signal ?? code}); exiting\n`);
      shutdown(1);
    }
  });
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
}

function runServer(): void {
  const clientId = requireEnv('BENCH_CLIENT_ID');
  const clientSecret = requireEnv('BENCH_CLIENT_SECRET');
  const idDigest = sha256(clientId);
  const secretDigest = sha256(clientSecret);
  const allowedScopes = new Set<string>(BENCH_SCOPES);
  const defaultScope = BENCH_SCOPES[0];
  const issuer = `https://127.0.0.1:${port}`;
  const thumbprints = new WeakMap<TLSSocket, string>();
  const thumbprintOf = (socket: TLSSocket): string => {
    let t = thumbprints.get(socket);
    if (t === undefined) {
      t = createHash('sha256').update(socket.getPeerCertificate(false).raw).digest('base64url');
      thumbprints.set(socket, t);
    }
    return t;
  };

  const pem = process.env[KEY_ENV];
  const privateKey: KeyObject = pem
    ? createPrivateKey(pem)
    : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = createHash('sha256')
    .update(JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y }))
    .digest('base64url');
  const jwksBody = JSON.stringify({ keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] });
  const headerB64 = b64urlJson({ alg: 'ES256', typ: 'at+jwt', kid });

  function sha256(s: string): Buffer {
    return createHash('sha256').update(s, 'utf8').digest();
  }

  function authenticate(header: string | undefined): boolean {
    if (header === undefined || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'basic ') return false;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    let id: string;
    let secret: string;
    try {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
      id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      return false;
    }
    const idOk = timingSafeEqual(sha256(id), idDigest);
    const secretOk = timingSafeEqual(sha256(secret), secretDigest);
    return idOk && secretOk;
  }

  function send(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      pragma: 'no-cache',
      ...extra,
    });
    res.end(body);
  }

  function oauthError(res: ServerResponse, status: number, error: string, description: string): void {
    const extra: Record<string, string> | undefined =
      status === 401 ? { 'www-authenticate': 'Basic realm="d1-authz"' } : undefined;
    send(res, status, JSON.stringify({ error, error_description: description }), extra);
  }

  function issue(req: IncomingMessage, res: ServerResponse, form: URLSearchParams): void {
    if (form.get('grant_type') !== 'client_credentials') {
      oauthError(res, 400, 'unsupported_grant_type', 'grant_type must be client_credentials');
      return;
    }
    const requested = form.get('scope');
    let scope: string = defaultScope;
    if (requested !== null && requested.trim() !== '') {
      const parts = requested.split(' ').filter((s) => s !== '');
      for (const s of parts) {
        if (!allowedScopes.has(s)) {
          oauthError(res, 400, 'invalid_scope', 'requested scope is not allowed');
          return;
        }
      }
      scope = [...new Set(parts)].join(' ');
    }
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + TOKEN_TTL_S;
    const payloadB64 = b64urlJson({
      iss: issuer,
      sub: clientId,
      aud: BENCH_AUDIENCE,
      client_id: clientId,
      scope,
      iat,
      exp,
      jti: randomUUID(),
      ...(bound ? { cnf: { 'x5t#S256': thumbprintOf(req.socket as TLSSocket) } } : {}),
    });
    const signingInput = `${headerB64}.${payloadB64}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    send(
      res,
      200,
      JSON.stringify({
        access_token: `${signingInput}.${signature.toString('base64url')}`,
        token_type: 'Bearer',
        expires_in: String(TOKEN_TTL_S),
        scope,
        expires_at: new Date(exp * 1000).toISOString(),
      }),
    );
  }

  function handleToken(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on('data', (chunk: Buffer) => {
      if (aborted) return;
      size += chunk.length;
      if (size > MAX_BODY) {
        aborted = true;
        oauthError(res, 413, 'invalid_request', 'body too large');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (aborted) return;
      const ct = req.headers['content-type'] ?? '';
      if (!ct.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        oauthError(res, 400, 'invalid_request', 'content-type must be application/x-www-form-urlencoded');
        return;
      }
      if (!authenticate(req.headers.authorization)) {
        oauthError(res, 401, 'invalid_client', 'client authentication failed');
        return;
      }
      issue(req, res, new URLSearchParams(Buffer.concat(chunks, size).toString('utf8')));
    });
  }

  const server = createServer(
    {
      cert: readFileSync(requireEnv('TLS_CERT')),
      key: readFileSync(requireEnv('TLS_KEY')),
      ca: readFileSync(requireEnv('TLS_CLIENT_CA')),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (path === TOKEN_PATH) {
        if (req.method !== 'POST') {
          oauthError(res, 405, 'invalid_request', 'method not allowed');
          return;
        }
        handleToken(req, res);
      } else if (path === JWKS_PATH && req.method === 'GET') {
        send(res, 200, jwksBody);
      } else if (path === HEALTH_PATH && req.method === 'GET') {
        send(res, 200, '{"status":"ok"}');
      } else {
        send(res, 404, '{"error":"not_found"}');
      }
    },
  );
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => {
    if (!cluster.isWorker) process.stdout.write(`READY ${port}\n`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
