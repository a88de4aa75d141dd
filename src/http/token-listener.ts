/**
 * POST {base}/oauth2/token served straight from node:http, in front of Fastify: the one route D1 and
 * every misbehaving client hit per call. Fastify's pipeline (router, content-type parser, hooks, reply)
 * cost ~14 µs of event-loop time per token, a sixth of it, measured per thread with `npm run bench`'s
 * load (docs/performance.md). Every other method on this path is answered 405 here too, before any
body is read or parsed; every other path goes to Fastify.
 *
 * Nothing here decides anything: the protocol core (protocol/token-endpoint.ts) does. This file only
 * moves bytes, with the same bounds, error rendering, log line and metrics as the Fastify routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { correlationIdFrom } from '../protocol/correlation-id.js';
import { OAuthError, invalidRequest, temporarilyUnavailable } from '../protocol/oauth-error.js';
import { handleTokenRequest, type TokenEndpointDeps } from '../protocol/token-endpoint.js';
import type { ClientCertificateSource } from '../tls/client-certificate.js';
import { singletonFieldProblem } from '../transport/singleton-headers.js';
import { toOAuthError } from './error-boundary.js';
import type { Metrics } from './metrics.js';
import { oauthErrorResponse } from './oauth-error-response.js';
import { recordRequest } from './request-record.js';
import type { RequestOrigins } from './request-origin.js';
import type { SourceAddress } from './source-address.js';

export interface TokenListenerOptions {
  readonly path: string;
  readonly bodyLimit: number;
  readonly deps: TokenEndpointDeps;
  /** RFC 8705: reads the client certificate (TLS connection or trusted proxy header); absent: none is read. */
  readonly certificates?: ClientCertificateSource;
  /** Where a request comes from (socket peer, or X-Forwarded-For from a trusted proxy); absent: not read. */
  readonly sources?: SourceAddress;
  readonly realm: string;
  /** Fastify's logger, read per request: bindings set after start-up (a worker's pid) must show. */
  readonly log: () => Logger;
  readonly metrics?: Metrics;
  /** True once the server drains: new requests get 503 and the connection is closed. */
  readonly closing: () => boolean;
  /** Peer and trusted-proxy addresses, for the log line and the audit trail. */
  readonly origins: RequestOrigins;
}

export interface TokenListener {
  /** The token path, with or without a query string, whatever the method. */
  matches(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

const tooLarge = (detail: string) => new OAuthError('invalid_request', 413, 'the request body is too large', detail);
// RFC 6749 §3.2: "The client MUST use the HTTP "POST" method when making access token requests."
const postOnly = (method: string | undefined) =>
  new OAuthError('invalid_request', 405, 'the token endpoint accepts POST only', `method ${method?.slice(0, 16)}`, { allow: 'POST' });

export function tokenListener(options: TokenListenerOptions): TokenListener {
  const { path, bodyLimit, deps, certificates, sources, realm, metrics } = options;
  const pathWithQuery = path + '?';

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const correlationId = correlationIdFrom(req.headers['x-correlation-id']);
    const origin = options.origins.of(req, correlationId);
    const log = options.log().child({ correlation_id: correlationId });

    const finish = (status: number, headers: Record<string, string>, body: string, clientId: string | undefined, outcome: string, detail?: string) => {
      headers['x-correlation-id'] = correlationId;
      headers['content-length'] = String(Buffer.byteLength(body));
      res.writeHead(status, headers);
      res.end(body);
      recordRequest(log, metrics, {
        method: req.method ?? 'POST',
        route: path,
        status,
        ms: performance.now() - started,
        clientId,
        outcome,
        detail,
        address: origin.address,
        forwardedFor: origin.forwardedFor,
        audit: origin.tokenEvent,
      });
    };
    const fail = (err: unknown, closeConnection = false) => {
      const error = toOAuthError(err);
      const response = oauthErrorResponse(error, realm);
      // An unread body (too large, or the server drains) must not be parsed as the next request.
      if (closeConnection) response.headers['connection'] = 'close';
      finish(response.status, response.headers, response.body, undefined, error.code, error.detail);
    };

    if (options.closing()) return fail(temporarilyUnavailable('the server is shutting down'), true);
    // Whatever the body: it is never read, so the connection is not reused for what follows it.
    if (req.method !== 'POST') return fail(postOnly(req.method), true);
    const fieldProblem = singletonFieldProblem(req);
    // Framing (Host, Content-Length) is in doubt: nothing after this request is read.
    if (fieldProblem !== undefined) return fail(invalidRequest(fieldProblem), true);
    const declared = Number(req.headers['content-length']);
    if (declared > bodyLimit) return fail(tooLarge(`content-length ${declared} > ${bodyLimit}`), true);

    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > bodyLimit) {
        refused = true;
        fail(tooLarge(`body over ${bodyLimit} bytes`), true);
      } else chunks.push(chunk);
    });
    // The client went away mid-body: nobody to answer.
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (refused) return;
      const body = size === 0 ? undefined : (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)).toString('utf8');
      void issue(req, body).then(
        ({ clientId, json }) => {
          // RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache".
          const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', pragma: 'no-cache', 'x-content-type-options': 'nosniff' };
          finish(200, headers, json, clientId, 'issued');
        },
        (err: unknown) => fail(err),
      );
    });

    async function issue(request: IncomingMessage, body: string | undefined) {
      const sourceAddress = sources?.of(request);
      const result = await handleTokenRequest(
        {
          contentType: request.headers['content-type'],
          authorization: request.headers.authorization,
          body,
          clientCertificate: certificates?.fromRequest(request, log),
          origin,
          ...(sourceAddress !== undefined ? { sourceAddress } : {}),
        },
        deps,
      );
      return { clientId: result.client.clientId, json: JSON.stringify(result.body) };
    }
  }

  return {
    matches: (req) => req.url === path || (req.url?.startsWith(pathWithQuery) ?? false),
    handle,
  };
}
