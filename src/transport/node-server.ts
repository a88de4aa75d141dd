/**
 * The node:http / node:https server under Fastify, for `serve` and the gateway alike: the
 * time-outs (server-timeouts.ts), the connection limits (connection-limits.ts, connection-caps.ts),
 * answers for what the HTTP parser refuses (client-error.ts), and half-closed connections answered.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import { answerClientError, answerExpectation, type TransportRefusal } from './client-error.js';
import { capConnections, type ConnectionCaps, type ConnectionRefusal } from './connection-caps.js';
import { CONNECTION_LIMITS, type ConnectionLimits } from './connection-limits.js';
import { SERVER_TIMEOUTS, type ServerTimeouts } from './server-timeouts.js';

export interface NodeServerOptions {
  /** TLS options: serve HTTPS instead of HTTP. */
  readonly https?: HttpsServerOptions;
  /** Default SERVER_TIMEOUTS; tests pass small ones. */
  readonly timeouts?: ServerTimeouts;
  /** Default CONNECTION_LIMITS; serve and the gateway pass the configured caps. */
  readonly limits?: ConnectionLimits;
  /** A request refused below the app: log it, count it. Never handed the request's bytes. */
  readonly onRefused: (refusal: TransportRefusal) => void;
  /** A connection refused by a cap (closed at once). Called per connection: keep it cheap. */
  readonly onConnectionRefused?: (reason: ConnectionRefusal) => void;
}

export type LimitedServer = Server & { readonly connectionCaps: ConnectionCaps };

export function createNodeServer(listener: (req: IncomingMessage, res: ServerResponse) => void, options: NodeServerOptions): LimitedServer {
  const t = options.timeouts ?? SERVER_TIMEOUTS;
  const limits = options.limits ?? CONNECTION_LIMITS;
  const settings: ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: t.headersMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: t.checkIntervalMs,
    // RFC 9112 §3.2 (Host missing or repeated) is checked with the other singleton fields
    // (singleton-headers.ts), so that the refusal has the RFC 6749 shape; node:http's own is an empty 400.
    requireHostHeader: false,
  };
  // The https server's TLS layer ends the write side as soon as the client's FIN arrives unless told otherwise.
  // A TLS handshake is bounded like a request head (node's default would allow 120 s).
  const tls = options.https ? { ...options.https, ...settings, allowHalfOpen: true, handshakeTimeout: t.headersMs } : undefined;
  const server: Server = tls ? createHttpsServer(tls, listener) : createHttpServer(settings, listener);
  // Set again on the object: these are what node:http reads at run time, whatever the constructor kept.
  server.headersTimeout = t.headersMs;
  server.requestTimeout = t.requestMs;
  server.keepAliveTimeout = t.keepAliveMs;
  // node answers the last request with `Connection: close`, then closes.
  server.maxRequestsPerSocket = limits.maxRequestsPerConnection;
  // Not server.maxConnections: node would refuse at the cap without closing an idle connection first.
  const connectionCaps = capConnections(server, limits, options.onConnectionRefused ?? (() => {}));
  // A client may send its request and then half-close (FIN): RFC 9112 §9.6, a half-closed connection
  // "does not ... imply the client is no longer interested in a response". node:http's default drops
  // the request and closes; with this it writes the answer, then closes.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket, options.onRefused));
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => answerExpectation(res, options.onRefused));
  // server.close() waits for every connection to end; one that never will (a peer gone quiet mid-handshake,
  // a half-closed TLS connection) would hold a shutdown forever.
  const close = server.close.bind(server);
  server.close = (callback?: (err?: Error) => void) => {
    close(callback);
    connectionCaps.drain();
    return server;
  };
  return Object.assign(server, { connectionCaps });
}
