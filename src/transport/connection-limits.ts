/**
 * The connection limits of every listening server (serve and the gateway), next to the time-outs
 * (server-timeouts.ts). docs/operations.md ("Limits") states these values;
 * test/token/connection-limits.test.ts reads them back from a running server over raw sockets.
 */
export interface ConnectionLimits {
  /** Request line plus header fields, in bytes: more is answered 431 (client-error.ts). */
  readonly maxHeaderBytes: number;
  /** Requests served on one keep-alive connection; the last is answered with `Connection: close`. */
  readonly maxRequestsPerConnection: number;
  /** Open connections per process; near the cap the oldest idle ones are closed, at it new ones are refused. */
  readonly maxConnections: number;
  /** Open connections per source address (the socket's peer): one address cannot take the whole cap. */
  readonly maxConnectionsPerAddress: number;
}

/** The fixed ones; the caps are settings (D1AUTHZ_MAX_CONNECTIONS, D1AUTHZ_MAX_CONNECTIONS_PER_ADDRESS). */
export const FIXED_CONNECTION_LIMITS = {
  // node's own default, set explicitly so that `--max-http-header-size` or NODE_OPTIONS cannot move it:
  // room for a trusted proxy's forwarded client-certificate chain, far above what a token request needs.
  maxHeaderBytes: 16_384,
  // Long-lived keep-alive connections would pin a client to one worker or node forever; one new
  // connection per 1,000 requests rebalances them at a negligible cost.
  maxRequestsPerConnection: 1_000,
} as const;

/**
 * Sized for the common 1,024-descriptor ulimit: 768 client connections leave a quarter for the
 * store's pool, SQLite's files, logs, the listening socket and the cluster channel. One address
 * may hold a third of them, so a single flooding host leaves room for every other one.
 */
export const DEFAULT_CONNECTION_CAPS = { maxConnections: 768, maxConnectionsPerAddress: 256 } as const;

export const CONNECTION_LIMITS: ConnectionLimits = { ...FIXED_CONNECTION_LIMITS, ...DEFAULT_CONNECTION_CAPS };

/**
 * The admin listener: operators, Prometheus and a load balancer's probes, not the internet. Its
 * connections come on top of the token listener's 768, inside the descriptor budget; all of them may
 * come from one address, since an SSH tunnel or a sidecar makes every operator 127.0.0.1.
 */
export const ADMIN_CONNECTION_LIMITS: ConnectionLimits = { ...FIXED_CONNECTION_LIMITS, maxConnections: 64, maxConnectionsPerAddress: 64 };
