/** A real node:http backend for gateway tests: records what reaches it, streams big bodies, can be slow. */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export interface Upstream {
  readonly origin: string;
  readonly seen: SeenRequest[];
  /** Bytes of /big bodies handed to the socket so far, and of /upload bodies read so far. */
  readonly progress: { bigWritten: number; uploadRead: number };
  close(): Promise<void>;
}

export const MiB = 1024 * 1024;

/** Deterministic content, so both ends can hash it without keeping it. */
export function chunkAt(index: number, size = 64 * 1024): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(index, 0);
  return b;
}

export async function startUpstream(): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const progress = { bigWritten: 0, uploadRead: 0 };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    if (url.pathname === '/slow') {
      const timer = setTimeout(() => res.end('late'), Number(url.searchParams.get('ms') ?? 5000));
      res.on('close', () => clearTimeout(timer));
      return;
    }
    if (url.pathname === '/big') {
      // Generated on the fly, honouring backpressure: nothing here holds the whole body either.
      const chunks = (Number(url.searchParams.get('mib') ?? 50) * MiB) / (64 * 1024);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(chunks * 64 * 1024) });
      let i = 0;
      const pump = () => {
        while (i < chunks) {
          progress.bigWritten += 64 * 1024;
          if (!res.write(chunkAt(i++))) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    if (url.pathname === '/upload') {
      const hash = createHash('sha256');
      let bytes = 0;
      // ?pause=ms: read nothing for a while, as a slow backend would.
      const pause = Number(url.searchParams.get('pause') ?? 0);
      if (pause > 0) {
        req.pause();
        setTimeout(() => req.resume(), pause);
      }
      req.on('data', (d: Buffer) => {
        bytes += d.length;
        progress.uploadRead += d.length;
        hash.update(d);
      });
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
      });
      return;
    }
    if (url.pathname === '/teapot') {
      res.writeHead(418, { 'content-type': 'text/plain', 'x-upstream': 'yes' }).end('short and stout');
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-upstream', 'yes');
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    progress,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
