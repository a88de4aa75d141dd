/**
 * RFC 8705 (OAuth 2.0 Mutual-TLS Client Authentication): the token endpoint's check of the method
 * and certificate a client used against its registration. The matching rules themselves are pure
 * and shared (model/client-certificate.ts).
 */
import type { Client, TokenEndpointAuthMethod } from '../model/client.js';
import { certificateMismatch, expectedCertificate, registeredAuthMethod, subjectValueCount, type ClientCertificate } from '../model/client-certificate.js';
import { invalidClient } from './oauth-error.js';

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
  const failed = expected && certificateMismatch(expected, cert);
  if (failed) throw invalidClient(`client certificate (${cert.source}) ${failed} does not match client ${id}`);
}
