/** Calls to the introspection, revocation and revocation-feed endpoints of a test server, over real HTTP. */
import { basicAuth, type TestServer } from './server.js';
import { jsonOrUnparsable } from './json-body.js';

export interface Call {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: any;
}

export const FORM = 'application/x-www-form-urlencoded';

export function endpoints(server: TestServer) {
  const base = `${server.origin}${server.app.config.basePath}/oauth2`;
  return { introspect: `${base}/introspect`, revoke: `${base}/revoke`, revocations: `${base}/revocations` };
}

async function call(url: string, init: RequestInit): Promise<Call> {
  const res = await fetch(url, init);
  const text = await res.text();
  const json = text === '' ? undefined : jsonOrUnparsable(text);
  return { status: res.status, headers: res.headers, text, json };
}

export interface Caller {
  readonly clientId: string;
  readonly clientSecret: string;
}

export const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

/** POSTs a form to `url`; `auth` null sends no Authorization header. */
export function postForm(url: string, body: string | undefined, auth: Caller | null, headers: Record<string, string> = {}): Promise<Call> {
  return call(url, {
    method: 'POST',
    headers: { 'content-type': FORM, ...(auth ? { authorization: basicAuth(auth.clientId, auth.clientSecret) } : {}), ...headers },
    body,
  });
}

export const introspect = (server: TestServer, auth: Caller | null, token: string, extra: Record<string, string> = {}) =>
  postForm(endpoints(server).introspect, form({ token, ...extra }), auth);

export const revoke = (server: TestServer, auth: Caller | null, token: string, extra: Record<string, string> = {}) =>
  postForm(endpoints(server).revoke, form({ token, ...extra }), auth);

export function readFeed(server: TestServer, auth: Caller | null, since?: string): Promise<Call> {
  const url = new URL(endpoints(server).revocations);
  if (since !== undefined) url.searchParams.set('since', since);
  return call(url.toString(), { headers: auth ? { authorization: basicAuth(auth.clientId, auth.clientSecret) } : {} });
}

export async function accessToken(server: TestServer, caller: Caller, form?: Record<string, string>): Promise<string> {
  const res = await server.token(caller.clientId, caller.clientSecret, form);
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json.access_token as string;
}

export const decodePayload = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
