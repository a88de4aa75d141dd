/**
 * Where a request's client certificate comes from (RFC 8705), as the plain ClientCertificate the
 * protocol core matches:
 *  - the TLS connection (native mTLS: `serve` with D1AUTHZ_TLS_CLIENT_CA);
 *  - from a trusted proxy only (D1AUTHZ_TRUSTED_PROXIES), the one header D1AUTHZ_CLIENT_CERT_HEADER
 *    names: nginx's URL-encoded PEM (`$ssl_client_escaped_cert`, default `x-ssl-client-cert`), or,
 *    when it is `x-forwarded-client-cert`, Envoy's XFCC (its Cert= field, or Hash= / Subject= /
 *    DNS= / URI=). One header only: a proxy clears or sets the header it owns, and passes others
 *    through from the client untouched, so believing a second one would let a client forge it.
 * A certificate header from any other peer is ignored and logged as suspicious (peer address only:
 * never the header's content). From a trusted proxy, the header wins over the connection's own
 * certificate (a proxy that speaks mTLS to us presents its own).
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import { certificateThumbprint } from '@d1-authz/guard';
import type { ClientCertificate } from '../model/client-certificate.js';
import { invalidRequest } from '../protocol/oauth-error.js';
import { TrustedProxies } from './addresses.js';

export const XFCC_HEADER = 'x-forwarded-client-cert';
export const DEFAULT_CLIENT_CERT_HEADER = 'x-ssl-client-cert';
const MAX_HEADER_LENGTH = 16_384;

/** Node's X509Certificate.subject ("C=FR\nO=Thales\nCN=x", RFC 2253-escaped values) as an RFC 4514 string. */
export function nodeSubjectToRfc4514(subject: string): string {
  return subject
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(' + ').join('+'))
    .reverse()
    .join(',');
}

/** Node's X509Certificate.subjectAltName ("DNS:a, URI:b, email:c", special values JSON-quoted). */
export function parseSubjectAltName(san: string | undefined): { dns: string[]; uri: string[]; email: string[] } {
  const out = { dns: [] as string[], uri: [] as string[], email: [] as string[] };
  if (!san) return out;
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon);
    i = colon + 1;
    let value: string;
    if (san[i] === '"') {
      let end = i + 1;
      while (end < san.length && san[end] !== '"') end += san[end] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(san.slice(i, end + 1)) as string;
      } catch {
        break;
      }
      i = end + 1;
    } else {
      const next = san.indexOf(', ', i);
      value = next < 0 ? san.slice(i) : san.slice(i, next);
      i = next < 0 ? san.length : next;
    }
    if (san.startsWith(', ', i)) i += 2;
    if (type === 'DNS') out.dns.push(value);
    else if (type === 'URI') out.uri.push(value);
    else if (type === 'email') out.email.push(value);
  }
  return out;
}

export function describeCertificate(x509: X509Certificate, source: ClientCertificate['source']): ClientCertificate {
  const san = parseSubjectAltName(x509.subjectAltName);
  return { thumbprint: certificateThumbprint(x509), subjectDn: nodeSubjectToRfc4514(x509.subject), sanDns: san.dns, sanUri: san.uri, sanEmail: san.email, source };
}

/** A certificate as proxies send it: URL-encoded PEM (nginx), raw PEM (tab-folded lines too), or bare base64 DER. */
export function certificateFromHeaderValue(value: string): X509Certificate {
  let text = value.trim();
  if (text.includes('%')) text = decodeURIComponent(text);
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
  const body = (pem ? pem[1]! : text).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('not a PEM certificate');
  return new X509Certificate(Buffer.from(body, 'base64'));
}

/** Splits on `separator` outside double quotes (Envoy quotes values holding , ; =). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1];
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === separator && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted) throw new Error('unbalanced quotes');
  parts.push(current);
  return parts;
}

// Envoy quotes without escaping: a backslash inside (e.g. Subject="O=Thales\, DIS") belongs to the RFC 2253 value.
const unquote = (v: string) => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

/**
 * Envoy's x-forwarded-client-cert. Each proxy appends an element, so the LAST element is the one
 * our trusted proxy wrote (an earlier one may come from the client itself). Undefined when that
 * element names no certificate (e.g. only By=).
 */
export function parseXfcc(value: string): ClientCertificate | undefined {
  const elements = splitOutsideQuotes(value, ',');
  const last = elements[elements.length - 1]!.trim();
  const fields = new Map<string, string[]>();
  for (const pair of splitOutsideQuotes(last, ';')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error('an XFCC field is not key=value');
    const key = pair.slice(0, eq).trim().toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), unquote(pair.slice(eq + 1).trim())]);
  }
  const hash = fields.get('hash')?.[0]?.toLowerCase();
  if (hash !== undefined && !/^[0-9a-f]{64}$/.test(hash)) throw new Error('the XFCC Hash is not a hex SHA-256');
  const cert = fields.get('cert')?.[0];
  if (cert !== undefined && cert !== '') {
    const described = describeCertificate(certificateFromHeaderValue(cert), 'xfcc');
    if (hash !== undefined && Buffer.from(hash, 'hex').toString('base64url') !== described.thumbprint) throw new Error('the XFCC Hash and Cert disagree');
    return described;
  }
  if (hash === undefined) return undefined;
  // Hash only: the thumbprint is known; the names are those Envoy chose to forward.
  return {
    thumbprint: Buffer.from(hash, 'hex').toString('base64url'),
    subjectDn: fields.get('subject')?.[0] || undefined,
    sanDns: fields.get('dns') ?? [],
    sanUri: fields.get('uri') ?? [],
    sanEmail: [],
    source: 'xfcc',
  };
}

export interface ClientCertificateSourceOptions {
  /** CIDR list: the peers whose headers are believed. */
  readonly trustedProxies: readonly string[];
  /** The header a trusted proxy sets: URL-encoded PEM, or XFCC when x-forwarded-client-cert. Default x-ssl-client-cert. */
  readonly clientCertHeader?: string;
}

type WarnLogger = { warn(obj: object, msg: string): void };

/** Reads the client certificate of a request. One per server; safe to share. */
export class ClientCertificateSource {
  private readonly trusted: TrustedProxies;
  private readonly header: string;
  private readonly fromSocket = new WeakMap<TLSSocket, ClientCertificate | null>();

  constructor(options: ClientCertificateSourceOptions) {
    this.trusted = new TrustedProxies(options.trustedProxies);
    this.header = (options.clientCertHeader ?? DEFAULT_CLIENT_CERT_HEADER).toLowerCase();
  }

  /**
   * The request's client certificate, or undefined. Throws invalid_request (400) when a trusted
   * proxy forwards one that cannot be read: a broken proxy must show, not turn into "no certificate".
   */
  fromRequest(req: IncomingMessage, log: WarnLogger): ClientCertificate | undefined {
    const forwarded = this.fromHeaders(req, log);
    return forwarded ?? this.peerCertificate(req);
  }

  /** The certificate on the TLS connection (verified by the handshake when a client CA is configured). */
  peerCertificate(req: IncomingMessage): ClientCertificate | undefined {
    const socket = req.socket;
    if (!(socket instanceof TLSSocket)) return undefined;
    const cached = this.fromSocket.get(socket);
    if (cached !== undefined) return cached ?? undefined;
    const x509 = socket.getPeerX509Certificate();
    const described = x509 ? describeCertificate(x509, 'tls') : undefined;
    this.fromSocket.set(socket, described ?? null);
    return described;
  }

  private fromHeaders(req: IncomingMessage, log: WarnLogger): ClientCertificate | undefined {
    const peer = req.socket.remoteAddress;
    if (!this.trusted.has(peer)) {
      const seen = [this.header, DEFAULT_CLIENT_CERT_HEADER, XFCC_HEADER].find((h) => req.headers[h] !== undefined);
      if (seen) log.warn({ peer, header: seen }, 'client certificate header from an untrusted peer ignored');
      return undefined;
    }
    const raw = req.headers[this.header];
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    if (value === undefined || value.trim() === '') return undefined;
    try {
      if (value.length > MAX_HEADER_LENGTH * 4) throw new Error('header too long');
      if (this.header === XFCC_HEADER) return parseXfcc(value);
      return describeCertificate(certificateFromHeaderValue(value), 'proxy-header');
    } catch (err) {
      throw invalidRequest('the client certificate forwarded by the proxy is malformed', `${this.header} from ${peer}: ${(err as Error).message}`);
    }
  }
}
