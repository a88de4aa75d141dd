/**
 * The time-outs of every listening server (serve and the gateway), set on the node:http/https server
 * itself: Fastify ignores its own timeout options when a serverFactory supplies the server.
 * docs/operations.md states these values; test/token/server-timeouts.test.ts reads them back from a
 * running server.
 */
export interface ServerTimeouts {
  /** From the first byte of a request (or from accepting the connection) to the end of its headers. */
  readonly headersMs: number;
  /** From the first byte of a request to the end of its body: a slow body is answered 408. */
  readonly requestMs: number;
  /** An idle keep-alive connection is closed after this long; announced as `Keep-Alive: timeout=65`. */
  readonly keepAliveMs: number;
  /**
   * How often node:http looks for requests past the first two bounds. Its default is 30 s, which
   * would hold a slow-loris connection half a minute past the bound.
   */
  readonly checkIntervalMs: number;
}

export const SERVER_TIMEOUTS: ServerTimeouts = {
  headersMs: 5_000,
  requestMs: 10_000,
  // Above the idle time-out of common load balancers (AWS ALB: 60 s), so the balancer closes first.
  keepAliveMs: 65_000,
  checkIntervalMs: 1_000,
};
