/** Requests from a chosen loopback address (127.0.0.2, ...): another client, as the server sees it. */
import { request } from 'node:http';
import { basicAuth } from './server.js';
import { jsonOrUnparsable } from './json-body.js';

export interface FromResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: any;
  /** Wall time from sending to the end of the answer. */
  readonly ms: number;
}

/** One request on a new connection from `localAddress`. */
export function callFrom(localAddress: string, url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<FromResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, localAddress, timeout: options.timeoutMs ?? 20_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const json = jsonOrUnparsable(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json, ms: performance.now() - started });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 20_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export function tokenFrom(localAddress: string, tokenUrl: string, clientId: string, secret: string, headers: Record<string, string> = {}, body = 'grant_type=client_credentials'): Promise<FromResult> {
  return callFrom(localAddress, tokenUrl, {
    timeoutMs: 60_000,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(clientId, secret), ...headers },
    body,
  });
}

/** A metric's value from /metrics (the first sample of that name, labels included in `name`). */
export async function metric(origin: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
