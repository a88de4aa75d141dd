/**
 * The same small protected API served three ways: Fastify (plugin + per-route preHandler), an
 * Express-style app (a minimal Connect-like router calling `(req, res, next)` middleware on a bare
 * node:http server) and a bare node:http app using withGuard.
 *
 * Routes:  /whoami (token only) · /read (d1:read) · /admin (d1:admin) · /multi (d1:read d1:admin)
 * Answer:  200 { clientId, scopes, sub, expiresAt }
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { d1AuthPlugin, expressGuard, withGuard } from '@d1-authz/guard';
import type { ConnectMiddleware, Guard, GuardAdapterOptions, VerifiedToken } from '@d1-authz/guard';

export interface TlsOptions {
  key: string;
  cert: string;
}

export interface AppOptions {
  getPeerCertificateThumbprint?: GuardAdapterOptions['getPeerCertificateThumbprint'];
  tls?: TlsOptions;
}

export interface TestApp {
  readonly kind: AdapterKind;
  readonly url: string;
  close(): Promise<void>;
}

export type AdapterKind = 'fastify' | 'express-style' | 'node-http';

export const ROUTES: Record<string, readonly string[]> = {
  '/whoami': [],
  '/read': ['d1:read'],
  '/admin': ['d1:admin'],
  '/multi': ['d1:read', 'd1:admin'],
};

function view(auth: VerifiedToken | undefined) {
  if (!auth) throw new Error('route reached without d1Auth');
  return { clientId: auth.clientId, scopes: auth.scopes, sub: auth.claims.sub, expiresAt: auth.expiresAt.toISOString() };
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function listen(server: Server, tls: boolean): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function nodeServer(tls: TlsOptions | undefined, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  return tls
    ? createHttpsServer({ key: tls.key, cert: tls.cert, requestCert: true, rejectUnauthorized: false }, handler)
    : createHttpServer(handler);
}

export async function startFastifyApp(guard: Guard, options: AppOptions = {}): Promise<TestApp> {
  // (The http/https instance types differ only in the raw server type; routes are the same.)
  const app = (
    options.tls
      ? Fastify({ https: { key: options.tls.key, cert: options.tls.cert, requestCert: true, rejectUnauthorized: false } })
      : Fastify()
  ) as unknown as FastifyInstance;
  await app.register(d1AuthPlugin, { guard, getPeerCertificateThumbprint: options.getPeerCertificateThumbprint });
  for (const [path, requiredScopes] of Object.entries(ROUTES)) {
    app.get(path, { preHandler: app.d1Authenticate({ requiredScopes }) }, async (request) => view(request.d1Auth));
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    kind: 'fastify',
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () => app.close(),
  };
}

/** Express-style: middleware chains run by a tiny Connect-like dispatcher. */
export async function startExpressStyleApp(guard: Guard, options: AppOptions = {}): Promise<TestApp> {
  type Req = IncomingMessage & { d1Auth?: VerifiedToken };
  const routes = new Map<string, ConnectMiddleware[]>();
  for (const [path, requiredScopes] of Object.entries(ROUTES)) {
    const handler: ConnectMiddleware = (req, res) => sendJson(res, 200, view((req as Req).d1Auth));
    routes.set(path, [
      expressGuard(guard, { requiredScopes, getPeerCertificateThumbprint: options.getPeerCertificateThumbprint }),
      handler,
    ]);
  }
  const server = nodeServer(options.tls, (req, res) => {
    const stack = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!stack) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    let i = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined) {
        sendJson(res, 500, { error: 'server_error' });
        return;
      }
      const layer = stack[i++];
      if (!layer) {
        sendJson(res, 404, { error: 'not_found' });
        return;
      }
      try {
        layer(req, res, next);
      } catch (e) {
        next(e);
      }
    };
    next();
  });
  const url = await listen(server, !!options.tls);
  return { kind: 'express-style', url, close: () => closeServer(server) };
}

/** Bare node:http: one withGuard-wrapped handler per route. */
export async function startNodeHttpApp(guard: Guard, options: AppOptions = {}): Promise<TestApp> {
  const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  for (const [path, requiredScopes] of Object.entries(ROUTES)) {
    handlers.set(
      path,
      withGuard(
        guard,
        (req, res, auth) => {
          if (req.d1Auth !== auth) throw new Error('req.d1Auth not set');
          sendJson(res, 200, view(auth));
        },
        { requiredScopes, getPeerCertificateThumbprint: options.getPeerCertificateThumbprint },
      ),
    );
  }
  const server = nodeServer(options.tls, (req, res) => {
    const handler = handlers.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (handler) handler(req, res);
    else sendJson(res, 404, { error: 'not_found' });
  });
  const url = await listen(server, !!options.tls);
  return { kind: 'node-http', url, close: () => closeServer(server) };
}

export const ADAPTERS: ReadonlyArray<{ kind: AdapterKind; start: (guard: Guard, options?: AppOptions) => Promise<TestApp> }> = [
  { kind: 'fastify', start: startFastifyApp },
  { kind: 'express-style', start: startExpressStyleApp },
  { kind: 'node-http', start: startNodeHttpApp },
];
