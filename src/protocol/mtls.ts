/**
 * RFC 8705 (OAuth 2.0 Mutual-TLS Client Authentication and Certificate-Bound Access Tokens):
 * which certificate a client must present, and the `cnf` claim of a bound token.
 * Framework-free: the HTTP layer hands in a plain ClientCertificate, taken from the TLS
 * connection or from a trusted proxy's header (see src/tls/client-certificate.ts).
 */
import type { Client, TokenEndpointAuthMethod } from '../model/client.js';
import { dnEquals } from '../model/distinguished-name.js';
import { invalidClient } from './oauth-error.js';

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
function mismatch(expected: ExpectedCertificate, cert: ClientCertificate): string | undefined {
  if (expected.subjectDn !== undefined && (cert.subjectDn === undefined || !dnEquals(expected.subjectDn, cert.subjectDn))) return 'subject DN';
  if (expected.sanDns !== undefined && !cert.sanDns.some((d) => d.toLowerCase() === expected.sanDns!.toLowerCase())) return 'dNSName SAN';
  if (expected.sanUri !== undefined && !cert.sanUri.includes(expected.sanUri)) return 'URI SAN';
  if (expected.sanEmail !== undefined && !cert.sanEmail.some((m) => lowerDomain(m) === lowerDomain(expected.sanEmail!))) return 'rfc822Name SAN';
  // A thumbprint is public (it is in every bound token): a plain comparison leaks nothing.
  if (expected.thumbprint !== undefined && cert.thumbprint !== expected.thumbprint) return 'thumbprint';
  return undefined;
}

/**
 * Checks the method the client used and the certificate it presented against its registration.
 * Every failure is invalid_client (401); the reason goes to the log only.
 *
 * RFC 8705 §2.1: "The client is successfully authenticated if the subject information in the
 * certificate matches the single expected subject configured or registered for that particular
 * client." A client_secret_basic client bound to a certificate must present it too: the secret
 * alone no longer authenticates it. Every registered value must match (DN, SAN, thumbprint).
 *
 * RFC 8705 §3: "When mutual TLS is used by the client on the connection to the token endpoint, the
 * authorization server is able to bind the issued access token to the client certificate." A
 * client registered for bound tokens without a certificate cannot get one.
 */
export function checkClientCertificate(client: Client, method: TokenEndpointAuthMethod, cert: ClientCertificate | undefined): void {
  const id = client.clientId;
  const registered = registeredAuthMethod(client);
  // RFC 7591 §2: token_endpoint_auth_method is the "requested authentication method for the token endpoint".
  if (method !== registered) throw invalidClient(`client ${id} is registered for ${registered} but used ${method}`);
  const expected = expectedCertificate(client);
  if (method === 'tls_client_auth' && subjectValueCount(expected) !== 1) {
    throw invalidClient(`client ${id} uses tls_client_auth without exactly one expected subject value`);
  }
  if (!expected && !client.certificateBoundTokens) return;
  if (!cert) throw invalidClient(`client ${id} must present a client certificate; none was presented`);
  const failed = expected && mismatch(expected, cert);
  if (failed) throw invalidClient(`client certificate (${cert.source}) ${failed} does not match client ${id}`);
}

/**
 * True when the client is bound to a certificate (registered DN, SAN or thumbprint) and `cert` is
 * that certificate: proof the lockout honours, as a guesser does not hold the client's key.
 */
export function presentsBoundCertificate(client: Client, cert: ClientCertificate): boolean {
  const expected = expectedCertificate(client);
  return expected !== undefined && mismatch(expected, cert) === undefined;
}

/** RFC 8705 §3.1: the `cnf` of a token for this client, when it is registered for bound tokens. */
export function certificateConfirmation(client: Client, cert: ClientCertificate | undefined): TokenConfirmation | undefined {
  return client.certificateBoundTokens && cert ? { 'x5t#S256': cert.thumbprint } : undefined;
}
