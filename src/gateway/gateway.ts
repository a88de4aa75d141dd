/**
 * The gateway: the guard in front of an existing backend, for banks that would rather not touch it.
 * For each request: find the route rule (none → refused, unless `unlisted: authenticated`), verify
 * the bearer token and the rule's scopes, then forward to the upstream with @fastify/reply-from,
 * bodies streamed both ways (never buffered whole).
 *
 * Upstream sees: no Authorization header (the token is for the gateway: a backend that logs headers
 * must not collect bearer tokens), `x-d1-client-id` (the authenticated client: any such header from
 * the caller is removed first, so it cannot be forged), `x-correlation-id` (the caller's, when
 * well-formed, else a new one; also sent back), and `x-forwarded-for`.
 * Refusals happen in onRequest, before the body is read and before the upstream is contacted.
 */
import replyFrom from '@fastify/reply-from';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerFactory } from 'fastify';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { createGuard, createIntrospectionCheck, createRevocationFeed, GuardError, type Guard, type RevocationFeed, type VerifiedToken } from '@d1-authz/guard';
import { errorBody } from '../errors/error-body.js';
import { correlationIdFrom } from '../protocol/correlation-id.js';
import { OAuthError } from '../protocol/oauth-error.js';
import { DEFAULT_CLIENT_CERT_HEADER, XFCC_HEADER } from '../tls/client-certificate.js';
import { watchTlsFiles, type TlsWatcher } from '../tls/server-options.js';
import { DEFAULT_TICKET_KEY_ROTATION_S, manageTicketKeys, type TicketKeys } from '../tls/ticket-keys.js';
import { createNodeServer } from '../transport/node-server.js';
import type { ServerTimeouts } from '../transport/server-timeouts.js';
import { singletonFieldProblem } from '../transport/singleton-headers.js';
import type { GatewayConfig } from './config.js';
import type { GatewayTransport } from './transport.js';
import { findRoute, pathSegments, type RouteRule } from './routes.js';
import { SERVER_ERROR_CODES } from '../errors/error-table.js';

declare module 'fastify' {
  interface FastifyRequest {
    gatewayRule: RouteRule | undefined;
    gatewayAuth: VerifiedToken | undefined;
    gatewayOutcome: string | undefined;
    gatewayDetail: string | undefined;
  }
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly guard: Guard;
  readonly revocationFeed: RevocationFeed | undefined;
  /** Starts the revocation feed (when configured), then listens. Returns the origin. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

// The credentials are for the gateway; the x-d1- prefix is the gateway's to set.
const STRIPPED = /^(authorization|proxy-authorization|x-d1-.*)$/i;
// A backend that believes a client-certificate header from the gateway's address must never get one
// the caller wrote: the gateway checked the certificate, and says who the client is in x-d1-client-id.
const CERTIFICATE_HEADERS = [DEFAULT_CLIENT_CERT_HEADER, XFCC_HEADER];

function sendJson(reply: FastifyReply, status: number, error: string, description: string, headers: Record<string, string> = {}): FastifyReply {
  return reply
    .code(status)
    .headers({ 'cache-control': 'no-store', ...headers })
    .type('application/json')
    .send(errorBody(error, description));
}

/** The gateway's own answers, as the error table writes them. */
function sendAnswer(reply: FastifyReply, code: 'ERR_UPSTREAM_TIMEOUT' | 'ERR_UPSTREAM_UNAVAILABLE'): FastifyReply {
  const { status, error, description } = SERVER_ERROR_CODES[code].http;
  return sendJson(reply, status, error, description);
}

function withoutConnectionFields<T extends Record<string, unknown>>(headers: T): T {
  const { connection: _connection, 'keep-alive': _keepAlive, ...rest } = headers;
  return rest as T;
}

/**
 * `transport` (gatewayTransport): TLS, mTLS and trusted-proxy certificates; default plain HTTP, no certificates.
 * `timeouts`: default SERVER_TIMEOUTS, the same as serve's (docs/resource-side.md); tests pass small ones.
 */
export function createGateway(config: GatewayConfig, logger: Logger, transport: Partial<GatewayTransport> = {}, timeouts?: ServerTimeouts): Gateway {
  const revocationFeed =
    config.revocation?.mode === 'feed'
      ? createRevocationFeed({
          url: `${config.issuer}/oauth2/revocations`,
          clientId: config.revocation.clientId,
          clientSecret: config.revocation.clientSecret,
          pollIntervalMs: config.revocation.pollIntervalMs,
          onError: (err) => logger.warn({ detail: err.message }, 'revocation feed poll failed'),
        })
      : undefined;
  const isRevoked =
    config.revocation?.mode === 'introspection'
      ? createIntrospectionCheck({
          introspectionEndpoint: `${config.issuer}/oauth2/introspect`,
          clientId: config.revocation.clientId,
          clientSecret: config.revocation.clientSecret,
          cacheTtlMs: config.revocation.cacheTtlMs,
        })
      : revocationFeed?.isRevoked;
  const guard = createGuard({ issuer: config.issuer, audience: config.audience, jwksUri: config.jwksUri, isRevoked });

  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlation_id' }),
    genReqId: (req) => correlationIdFrom(req.headers['x-correlation-id']),
    return503OnClosing: true,
    // The server is made here so that its time-outs, half-close handling and answers to what the
    // HTTP parser refuses are serve's (transport/node-server.ts): Fastify would set neither.
    serverFactory: ((fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) =>
      createNodeServer(
        (req, res) => {
          // An upstream's own value, when it sends one, replaces this.
          res.setHeader('x-content-type-options', 'nosniff');
          fastifyHandler(req, res);
        },
        {
          ...(transport.https ? { https: transport.https } : {}),
          ...(timeouts ? { timeouts } : {}),
          ...(config.connectionLimits ? { limits: config.connectionLimits } : {}),
          onRefused: ({ status, code }) => logger.info({ status, outcome: 'invalid_request', detail: code }, 'request refused by the HTTP parser'),
        },
      )) as unknown as FastifyServerFactory<HttpsServer>,
    // Answered by the server above; Fastify's default would log the raw request bytes at trace level.
    clientErrorHandler: () => {},
    // null: plain HTTP. The server comes from serverFactory; Fastify reads this only to print https:// addresses.
    https: transport.https ?? null,
    // A URL the router cannot decode never reaches onRequest: answer it in the same JSON shape.
    frameworkErrors: (err, request, reply) => {
      request.gatewayOutcome = 'bad_path';
      request.gatewayDetail = err.message;
      sendJson(reply, 400, 'invalid_request', 'the request path is not acceptable');
    },
  }) as unknown as FastifyInstance;
  app.register(replyFrom, {
    base: config.upstream,
    disableRequestLogging: true,
    undici: { connections: 128, pipelining: 1, headersTimeout: config.upstreamTimeoutMs, bodyTimeout: config.upstreamTimeoutMs },
  });
  app.decorateRequest('gatewayRule', undefined);
  app.decorateRequest('gatewayAuth', undefined);
  app.decorateRequest('gatewayOutcome', undefined);
  app.decorateRequest('gatewayDetail', undefined);

  // Bodies are the upstream's business: hand the raw stream over, unread (reply-from pipes it).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-correlation-id', request.id);
    const fieldProblem = singletonFieldProblem(request.raw);
    if (fieldProblem !== undefined) {
      // One Host, one set of credentials; framing in doubt: nothing after this request is read.
      request.gatewayOutcome = 'invalid_request';
      request.gatewayDetail = fieldProblem;
      return sendJson(reply, 400, 'invalid_request', fieldProblem, { connection: 'close' });
    }
    const path = pathSegments(request.url);
    if (!path.ok) {
      request.gatewayOutcome = 'bad_path';
      request.gatewayDetail = path.reason;
      return sendJson(reply, 400, 'invalid_request', 'the request path is not acceptable');
    }
    const rule = findRoute(config.routes, request.method, path.segments);
    if (!rule && config.unlisted === 'deny') {
      // Least privilege: what the route table does not name does not exist behind the gateway.
      request.gatewayOutcome = 'no_route';
      return sendJson(reply, 404, 'not_found', 'no such resource');
    }
    request.gatewayRule = rule;
    let peerCertificateThumbprint: string | undefined;
    try {
      peerCertificateThumbprint = transport.certificates?.fromRequest(request.raw, request.log)?.thumbprint;
    } catch (err) {
      // A trusted proxy forwarded a certificate that cannot be read: show the broken proxy, do not guess.
      request.gatewayOutcome = 'invalid_request';
      request.gatewayDetail = err instanceof OAuthError ? err.detail ?? err.description : (err as Error).message;
      return sendJson(reply, 400, 'invalid_request', err instanceof OAuthError ? err.description : 'the forwarded client certificate is not readable');
    }
    try {
      // RFC 8705 §3: a certificate-bound token passes only over the certificate it is bound to.
      request.gatewayAuth = await guard.verify(request.headers.authorization, { requiredScopes: rule?.scopes ?? [], peerCertificateThumbprint });
    } catch (err) {
      if (!(err instanceof GuardError)) throw err;
      request.gatewayOutcome = err.code ?? 'unauthorized';
      request.gatewayDetail = err.description;
      return reply.code(err.status).headers(err.headers).type('application/json').send(errorBody(err.body.error, err.body.error_description));
    }
    return undefined;
  });

  const certificateHeaders = new Set(transport.certificateHeaders ?? CERTIFICATE_HEADERS);
  const forwardedHeaders = (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders => {
    const out: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) if (!STRIPPED.test(name) && !certificateHeaders.has(name.toLowerCase())) out[name] = value;
    out['x-d1-client-id'] = request.gatewayAuth!.clientId;
    out['x-correlation-id'] = request.id;
    const prior = headers['x-forwarded-for'];
    out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${request.ip}` : request.ip;
    return out;
  };

  app.all('/*', (request, reply) => {
    request.gatewayOutcome = 'forwarded';
    return reply.from(request.url, {
      rewriteRequestHeaders: (_r, headers) => forwardedHeaders(request, headers),
      // RFC 9110 §7.6.1: Connection and Keep-Alive describe the upstream connection, not the caller's
      // (the upstream's `Keep-Alive: timeout=5` would stand in for the gateway's own).
      rewriteHeaders: (headers) => withoutConnectionFields(headers),
      onError: (r, { error }) => {
        const timedOut = (error as { statusCode?: number }).statusCode === 504;
        request.gatewayOutcome = timedOut ? 'upstream_timeout' : 'upstream_error';
        request.gatewayDetail = `${(error as { code?: string }).code ?? error.name}: ${error.message}`;
        sendAnswer(r as FastifyReply, timedOut ? 'ERR_UPSTREAM_TIMEOUT' : 'ERR_UPSTREAM_UNAVAILABLE');
      },
    });
  });

  app.setErrorHandler((err, request, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    request.gatewayDetail = (err as Error).message;
    if (status !== undefined && status >= 400 && status < 500) {
      request.gatewayOutcome = 'invalid_request';
      return sendJson(reply, status, 'invalid_request', 'the request is malformed');
    }
    request.gatewayOutcome = 'server_error';
    return sendJson(reply, 500, 'server_error', 'internal error');
  });

  // One line per request; never the query string (it may carry secrets) nor any header value.
  app.addHook('onResponse', (request, reply, done) => {
    const q = request.url.indexOf('?');
    const line = {
      method: request.method,
      path: q < 0 ? request.url : request.url.slice(0, q),
      rule: request.gatewayRule?.path,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
      client_id: request.gatewayAuth?.clientId,
      outcome: request.gatewayOutcome,
      detail: request.gatewayDetail,
    };
    if (reply.statusCode >= 500 && request.gatewayOutcome === 'server_error') request.log.error(line, 'request');
    else request.log.info(line, 'request');
    done();
  });

  let tlsWatcher: TlsWatcher | undefined;
  let tickets: TicketKeys | undefined;
  return {
    app,
    guard,
    revocationFeed,
    async listen() {
      await revocationFeed?.start();
      const origin = await app.listen({ host: config.host, port: config.port });
      // Certificates expire: a renewed certificate, key or client CA is served without a restart.
      if (transport.https && transport.tlsFiles) {
        const server = app.server as unknown as TlsServer;
        tickets = manageTicketKeys(server, transport.ticketKeyRotationMs ?? DEFAULT_TICKET_KEY_ROTATION_S * 1000);
        tlsWatcher = watchTlsFiles(server, transport.tlsFiles, logger, { served: transport.https, onReloaded: (digest) => tickets?.rekeyAfterReload(digest) });
      }
      return origin;
    },
    async close() {
      tlsWatcher?.close();
      tickets?.stop();
      await revocationFeed?.stop();
      await app.close();
    },
  };
}
