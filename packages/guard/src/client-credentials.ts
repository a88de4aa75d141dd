/** What the guard's revocation checks share: the resource server's own client credentials and a few HTTP helpers. */
import type { GuardTlsOptions } from './transport.js';

export interface ResourceServerCredentials {
  /** A d1-authz client created with `--introspect` (and usually `--no-tokens`). */
  clientId: string;
  clientSecret: string;
  /** Trust anchors and client certificate for the requests to d1-authz (see GuardOptions.tls). */
  tls?: GuardTlsOptions;
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined by ":" and base64-encoded. */
export function basicAuthorization({ clientId, clientSecret }: ResourceServerCredentials): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return 'Basic ' + Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64');
}

export function checkEndpoint(name: string, value: string | URL, allowInsecure: boolean | undefined): URL {
  const url = new URL(value);
  if (url.protocol === 'https:') return url;
  if (url.protocol !== 'http:') throw new TypeError(`${name} must be an http(s) URL`);
  const h = url.hostname;
  const loopback = h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
  // The client secret travels in every request: plain http only on loopback unless explicitly allowed.
  if (!loopback && !allowInsecure) throw new TypeError(`${name} must use https (set allowInsecure to allow http)`);
  return url;
}

export function checkCredentials(credentials: ResourceServerCredentials): void {
  if (typeof credentials.clientId !== 'string' || credentials.clientId === '') throw new TypeError('clientId is required');
  if (typeof credentials.clientSecret !== 'string' || credentials.clientSecret === '') throw new TypeError('clientSecret is required');
}

/** Parses the text of a bounded answer; throws on anything but JSON. */
export function parseJsonAnswer(text: string | null): unknown {
  if (text === null) throw new Error('response too large');
  if (text === '') throw new Error('empty response');
  return JSON.parse(text);
}
