/** Raw-socket HTTP/1.1 exchanges: what a server writes, byte for byte, and when it closes. */
import { connect } from 'node:net';
import { sleep } from './wait.js';

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; a repeated name keeps the last value. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface RawExchange {
  /** Everything the server wrote, latin1. */
  readonly text: string;
  readonly responses: RawResponse[];
  /** From the first write to the server's close; undefined when the server did not close within the bound. */
  readonly closedAfterMs: number | undefined;
}

/** Parses every complete Content-Length-framed response in `text`. */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
    const length = Number(headers['content-length'] ?? 0);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

export interface RawOptions {
  /** Half-close (FIN) after the last write. */
  readonly halfClose?: boolean;
  /** Further writes, each after a delay from the previous one (a slow client). */
  readonly trickle?: readonly (readonly [delayMs: number, text: string])[];
  /** Give up (and report no close) after this long. Default 15 s. */
  readonly timeoutMs?: number;
  /** Stop (and report no close) once this many complete responses arrived: for connections kept alive. */
  readonly untilResponses?: number;
}

/** Writes `first`, then `trickle`, and collects what comes back until the server closes. */
export function rawExchange(origin: string, first: string | Buffer, options: RawOptions = {}): Promise<RawExchange> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    let text = '';
    let started = 0;
    const done = (closedAfterMs: number | undefined) => {
      clearTimeout(timer);
      resolve({ text, responses: parseResponses(text), closedAfterMs });
    };
    const trickle = async () => {
      for (const [delay, more] of options.trickle ?? []) {
        await sleep(delay);
        if (socket.destroyed || !socket.writable) break;
        socket.write(more);
      }
      if (options.halfClose && !socket.destroyed) socket.end();
    };
    const socket = connect(Number(port), hostname, () => {
      started = performance.now();
      socket.write(first);
      void trickle();
    });
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      text += d;
      if (options.untilResponses !== undefined && parseResponses(text).length >= options.untilResponses) {
        socket.removeAllListeners('close');
        socket.destroy();
        done(undefined);
      }
    });
    socket.on('error', (err) => (started === 0 ? reject(err) : undefined));
    socket.on('close', () => done(performance.now() - started));
    const timer = setTimeout(() => {
      socket.removeAllListeners('close');
      socket.destroy();
      done(undefined);
    }, options.timeoutMs ?? 15_000);
  });
}
