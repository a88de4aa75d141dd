/**
 * The client-authentication methods of every endpoint where a client authenticates (token,
 * introspection, revocation), in the order the metadata lists them.
 *
 * To add a method: one module beside these that exports a ClientAuthMethod, its entry in METHODS,
 * and its name in TokenEndpointAuthMethod (model/client.ts: what a client is registered
 * for, kept by the store). The compiler asks for the entry once the name exists; the metadata,
 * the choice of method and the registration check follow from here.
 */
import type { TokenEndpointAuthMethod } from '../../model/client.js';
import { invalidRequest } from '../oauth-error.js';
import { clientSecretBasic } from './client-secret-basic.js';
import type { ClientAuthMethod, ClientRequest, FormParams } from './method.js';
import { tlsClientAuth } from './tls-client-auth.js';

const METHODS: { readonly [M in TokenEndpointAuthMethod]: ClientAuthMethod<M> } = {
  client_secret_basic: clientSecretBasic,
  tls_client_auth: tlsClientAuth,
};

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = Object.values(METHODS);

/**
 * The method whose credentials the request carries; undefined when it carries none. RFC 6749 §2.3.1:
 * "The client MUST NOT use more than one authentication method in each request."
 */
export function presentedAuthMethod(request: ClientRequest, params: FormParams, methods: readonly ClientAuthMethod[] = CLIENT_AUTH_METHODS): ClientAuthMethod | undefined {
  const presented = methods.filter((m) => m.presented(request, params));
  if (presented.length > 1) throw invalidRequest('more than one client authentication method was used');
  return presented[0];
}

/** RFC 8414 token_endpoint_auth_methods_supported: the methods a client can use where certificates can (or cannot) arrive. */
export function supportedAuthMethods(where: { readonly clientCertificates: boolean }, methods: readonly ClientAuthMethod[] = CLIENT_AUTH_METHODS): readonly TokenEndpointAuthMethod[] {
  return methods.filter((m) => where.clientCertificates || !m.needsClientCertificate).map((m) => m.method);
}
