/**
 * RFC 8705 (OAuth 2.0 Mutual-TLS Client Authentication and Certificate-Bound Access Tokens):
 * which certificate a client is registered with, whether a presented one matches it, and the `cnf`
 * claim of a bound token. Pure rules: the HTTP layer hands in a plain ClientCertificate, taken from
 * the TLS connection or from a trusted proxy's header (see src/tls/client-certificate.ts); the
 * protocol layer (protocol/mtls.ts) turns a mismatch into invalid_client.
 */
import type { Client, TokenEndpointAuthMethod } from './client.js';
import { dnEquals } from './distinguished-name.js';

/** What the HTTP layer knows of the client certificate of a request. */
export interface ClientCertificate {
  /** RFC 8705 §3.1 `x5t#S256`: base64url(SHA-256(DER certificate)). */
  readonly thumbprint: string;
  /** RFC 4514 string of the subject; undefined when a proxy forwarded only a hash. */
  readonly subjectDn: string | undefined;
  /** dNSName SAN entries. */
  readonly sanDns: readonly string[];
  /** uniformResourceIdentifier SAN entries. */
  readonly sanUri: readonly string[];
  /** rfc822Name SAN entries. */
  readonly sanEmail: readonly string[];
  /** Where it came from: the TLS connection, or a trusted proxy's header (for logs). */
  readonly source: 'tls' | 'proxy-header' | 'xfcc';
}

/** RFC 8705 §3.1: `"cnf":{"x5t#S256":...}` in a certificate-bound access token. */
export interface TokenConfirmation {
  readonly 'x5t#S256': string;
}

/** The certificate a client is registered with (RFC 8705 §2.1.2 metadata, plus a thumbprint pin). */
export interface ExpectedCertificate {
  readonly subjectDn?: string;
  readonly sanDns?: string;
  readonly sanUri?: string;
  readonly sanEmail?: string;
  readonly thumbprint?: string;
}

export function registeredAuthMethod(client: Client): TokenEndpointAuthMethod {
  return client.tokenEndpointAuthMethod ?? 'client_secret_basic';
}

/** The certificate the client must present, or undefined when it is not bound to one. */
export function expectedCertificate(client: Client): ExpectedCertificate | undefined {
  const expected: ExpectedCertificate = {
    ...(client.tlsClientAuthSubjectDn ? { subjectDn: client.tlsClientAuthSubjectDn } : {}),
    ...(client.tlsClientAuthSanDns ? { sanDns: client.tlsClientAuthSanDns } : {}),
    ...(client.tlsClientAuthSanUri ? { sanUri: client.tlsClientAuthSanUri } : {}),
    ...(client.tlsClientAuthSanEmail ? { sanEmail: client.tlsClientAuthSanEmail } : {}),
    ...(client.tlsClientCertificateThumbprint ? { thumbprint: client.tlsClientCertificateThumbprint } : {}),
  };
  return Object.keys(expected).length ? expected : undefined;
}

/** The number of subject values (DN or SAN) set: RFC 8705 §2.1.2 wants exactly one for tls_client_auth. */
export function subjectValueCount(e: ExpectedCertificate | undefined): number {
  if (!e) return 0;
  return [e.subjectDn, e.sanDns, e.sanUri, e.sanEmail].filter((v) => v !== undefined).length;
}

const lowerDomain = (email: string) => {
  const at = email.lastIndexOf('@');
  return at < 0 ? email : email.slice(0, at) + email.slice(at).toLowerCase();
};

/** The first registered value the certificate does not carry, or undefined when all match. */
export function certificateMismatch(expected: ExpectedCertificate, cert: ClientCertificate): string | undefined {
  if (expected.subjectDn !== undefined && (cert.subjectDn === undefined || !dnEquals(expected.subjectDn, cert.subjectDn))) return 'subject DN';
  if (expected.sanDns !== undefined && !cert.sanDns.some((d) => d.toLowerCase() === expected.sanDns!.toLowerCase())) return 'dNSName SAN';
  if (expected.sanUri !== undefined && !cert.sanUri.includes(expected.sanUri)) return 'URI SAN';
  if (expected.sanEmail !== undefined && !cert.sanEmail.some((m) => lowerDomain(m) === lowerDomain(expected.sanEmail!))) return 'rfc822Name SAN';
  // A thumbprint is public (it is in every bound token): a plain comparison leaks nothing.
  if (expected.thumbprint !== undefined && cert.thumbprint !== expected.thumbprint) return 'thumbprint';
  return undefined;
}

/**
 * True when the client is bound to a certificate (registered DN, SAN or thumbprint) and `cert` is
 * that certificate: proof the lockout honours, as a guesser does not hold the client's key.
 */
export function presentsBoundCertificate(client: Client, cert: ClientCertificate): boolean {
  const expected = expectedCertificate(client);
  return expected !== undefined && certificateMismatch(expected, cert) === undefined;
}

/** RFC 8705 §3.1: the `cnf` of a token for this client, when it is registered for bound tokens. */
export function certificateConfirmation(client: Client, cert: ClientCertificate | undefined): TokenConfirmation | undefined {
  return client.certificateBoundTokens && cert ? { 'x5t#S256': cert.thumbprint } : undefined;
}
