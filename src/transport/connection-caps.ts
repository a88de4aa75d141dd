/**
 * The connection caps of a server (connection-limits.ts): at most maxConnections per process and
 * maxConnectionsPerAddress per source address. A connection is idle once it has been answered and
 * has no request in progress; when the process nears its cap, or an address reaches its own, the
 * oldest idle connection (of that address) is closed to make room; with none idle, the new
 * connection is refused (closed at once). A connection that never finishes its request is not
 * idle: the headers and request time-outs bound it (server-timeouts.ts).
 *
 * Counted on the TCP socket ('connection'), before any TLS handshake, so that handshakes count too.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionLimits } from './connection-limits.js';

export type ConnectionRefusal = 'max_connections' | 'max_connections_per_address';

interface AddressConnections {
  count: number;
  /** Insertion order is the order they became idle: the first is the oldest. */
  readonly idle: Set<Socket>;
}

interface ConnectionState {
  readonly address: string;
  readonly peers: AddressConnections;
  /** Requests received and not yet answered (more than one only when pipelined). */
  active: number;
  /** Requests received on the connection so far. */
  requests: number;
}

const STATE = Symbol('d1authz.connection');
type TrackedSocket = Socket & { [STATE]?: ConnectionState; _parent?: Socket };
/** The connection a response belongs to, kept on the response: by its 'close', node may have cleared req.socket. */
const CONNECTION = Symbol('d1authz.response-connection');
/** The socket HTTP is written on (for TLS the TLS socket, which closes with close_notify). */
const STREAM = Symbol('d1authz.response-stream');
type TrackedResponse = ServerResponse & { [CONNECTION]?: TrackedSocket; [STREAM]?: Socket };

/** The TCP socket under a request: for TLS, node's TLSSocket keeps it as `_parent`. */
const tcpSocket = (socket: Socket): TrackedSocket => (socket as TrackedSocket)._parent ?? socket;

export interface ConnectionCaps {
  /** Connections open now. */
  readonly open: () => number;
  /**
   * Shutting down: closes every connection with no request in progress (idle, mid-handshake or
   * half-closed by the peer) now, and each other one as soon as its last response is done. node's
   * own closeIdleConnections sees only connections that got as far as HTTP.
   */
  readonly drain: () => void;
}

export function capConnections(server: Server, limits: ConnectionLimits, onRefused: (reason: ConnectionRefusal) => void): ConnectionCaps {
  const byAddress = new Map<string, AddressConnections>();
  const idle = new Set<Socket>();
  const all = new Set<TrackedSocket>();
  let open = 0;
  let draining = false;
  // "Near": from here on, every new connection closes the oldest idle one, so that a burst of new
  // clients finds room without waiting for keep-alive time-outs.
  const near = limits.maxConnections - Math.max(1, Math.floor(limits.maxConnections / 16));

  const closeIdle = (socket: Socket | undefined): boolean => {
    if (socket === undefined) return false;
    forgetIdle(socket);
    socket.destroy();
    return true;
  };
  function forgetIdle(socket: TrackedSocket): void {
    idle.delete(socket);
    socket[STATE]?.peers.idle.delete(socket);
  }
  const first = (set: Set<Socket>): Socket | undefined => set.values().next().value;

  server.on('connection', (socket: TrackedSocket) => {
    const address = socket.remoteAddress ?? '';
    if (open >= limits.maxConnections && !closeIdle(first(idle))) {
      onRefused('max_connections');
      socket.destroy();
      return;
    }
    let peers = byAddress.get(address);
    if (peers !== undefined && peers.count >= limits.maxConnectionsPerAddress && !closeIdle(first(peers.idle))) {
      onRefused('max_connections_per_address');
      socket.destroy();
      return;
    }
    if (peers === undefined) byAddress.set(address, (peers = { count: 0, idle: new Set() }));
    peers.count++;
    open++;
    socket[STATE] = { address, peers, active: 0, requests: 0 };
    all.add(socket);
    socket.once('close', () => {
      all.delete(socket);
      forgetIdle(socket);
      open--;
      if (--peers.count === 0) byAddress.delete(address);
    });
    if (open > near) closeIdle(first(idle));
  });

  // First of the 'request' listeners: the answer must not be begun before its keep-alive is decided.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = tcpSocket(req.socket);
    const state = socket[STATE];
    if (state === undefined) return;
    if (state.active++ === 0) forgetIdle(socket);
    // RFC 9112 §9.6: a server that sends "close" "MUST initiate closure of the connection" after that
    // response. node:http, at maxRequestsPerSocket, sends `Connection: close` but keeps the connection
    // and answers what follows 503; a response that is not kept alive is closed after it is sent.
    if (++state.requests >= limits.maxRequestsPerConnection) res.shouldKeepAlive = false;
    (res as TrackedResponse)[CONNECTION] = socket;
    (res as TrackedResponse)[STREAM] = req.socket;
    // One shared listener, no closure per request: this is on the token path.
    res.on('close', responseClosed);
  });

  function responseClosed(this: TrackedResponse): void {
    const socket = this[CONNECTION];
    const state = socket?.[STATE];
    if (socket === undefined || state === undefined || --state.active > 0 || socket.destroyed) return;
    if (draining) {
      (this[STREAM] ?? socket).destroySoon();
      return;
    }
    idle.add(socket);
    state.peers.idle.add(socket);
  }

  return {
    open: () => open,
    drain: () => {
      draining = true;
      for (const socket of all) if ((socket[STATE]?.active ?? 0) === 0) socket.destroy();
    },
  };
}
