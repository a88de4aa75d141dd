/** Small HTTP and polling helpers for tests that drive real `serve` processes. */
import { request } from 'node:http';
import { basicAuth } from './server.js';
import { jsonOrUnparsable } from './json-body.js';

export const BASE_PATH = '/authz/d1/v1';

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: any;
}

/**
 * One request on a connection of its own (no keep-alive), so that with `serve --workers N` every
 * call is a new connection the cluster hands to a worker. Rejects on a connection error or after
 * `timeoutMs` without an answer.
 */
export function httpCall(url: string, options: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: options.timeoutMs ?? 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const json = jsonOrUnparsable(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export function tokenAt(origin: string, clientId: string, secret: string, timeoutMs?: number): Promise<HttpResult> {
  return httpCall(`${origin}${BASE_PATH}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuth(clientId, secret) },
    body: 'grant_type=client_credentials',
    timeoutMs,
  });
}

export async function jwksKids(origin: string): Promise<string[]> {
  const res = await httpCall(`${origin}${BASE_PATH}/.well-known/jwks.json`);
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
  return (res.json.keys as { kid: string }[]).map((k) => k.kid);
}

export const kidOf = (jwt: string): string => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid;

/** The JSON log lines in a process's output. */
export function logLines(output: string): Record<string, any>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, any>];
      } catch {
        return [];
      }
    });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
