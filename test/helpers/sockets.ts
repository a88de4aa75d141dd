/** Raw TCP connections from a chosen loopback address, for connection-limit tests. */
import { connect, type Socket } from 'node:net';
import { parseResponses, type RawResponse } from './raw-http.js';

export interface OpenSocket {
  readonly socket: Socket;
  /** From connect to the server's close. */
  readonly closed: Promise<number>;
  /** Everything received so far, latin1. */
  text(): string;
  responses(): RawResponse[];
  isClosed(): boolean;
}

/** Connects from `localAddress` (e.g. 127.0.0.3: the whole of 127.0.0.0/8 is local). */
export function openSocket(origin: string, localAddress: string): Promise<OpenSocket> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    let text = '';
    let connectedAt = 0;
    let isClosed = false;
    let closedResolve!: (ms: number) => void;
    const closed = new Promise<number>((r) => (closedResolve = r));
    const socket = connect({ port: Number(port), host: hostname, localAddress }, () => {
      connectedAt = performance.now();
      resolve({ socket, closed, text: () => text, responses: () => parseResponses(text), isClosed: () => isClosed });
    });
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (err) => (connectedAt === 0 ? reject(err) : undefined));
    socket.on('close', () => {
      isClosed = true;
      closedResolve(performance.now() - connectedAt);
    });
  });
}
