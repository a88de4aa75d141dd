/** Start-up policy around TLS: the insecure-HTTP warning, and what the metadata advertises. */
import type { Config } from '../config/schema.js';
import { supportedAuthMethods } from '../protocol/client-auth/index.js';
import { isLoopbackHost } from './addresses.js';
import { ClientCertificateSource } from './client-certificate.js';

type TlsPolicyConfig = Pick<Config, 'host' | 'tlsCert' | 'tlsClientCa' | 'allowInsecureHttp' | 'trustedProxies' | 'clientCertHeader'>;
/** What decides whether and how a client certificate reaches a server. */
type CertificateConfig = Pick<Config, 'tlsClientCa' | 'trustedProxies' | 'clientCertHeader'>;

/**
 * Plain HTTP on a non-loopback address only passes config validation with allowInsecureHttp:
 * say so loudly at every start. Returns true when it warned.
 */
export function warnIfInsecureHttp(config: TlsPolicyConfig, logger: { warn(obj: object, msg: string): void }): boolean {
  if (config.tlsCert || isLoopbackHost(config.host)) return false;
  logger.warn(
    { host: config.host, setting: 'D1AUTHZ_ALLOW_INSECURE_HTTP' },
    `INSECURE: serving plain HTTP on ${config.host}, a non-loopback address. Client secrets and tokens cross the network in clear ` +
      'unless a TLS-terminating proxy is the only peer. Set D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY to serve TLS.',
  );
  return true;
}

/** Where client certificates come from; undefined when none can reach this server. */
/** A client certificate can reach us: native mTLS with a client CA, or a trusted proxy forwarding it. */
export function certificatesCanArrive(config: CertificateConfig): boolean {
  return Boolean(config.tlsClientCa) || config.trustedProxies.length > 0;
}

/** The client authentication methods a client can actually use here (RFC 8414 *_auth_methods_supported). */
export function clientAuthMethods(config: CertificateConfig): readonly string[] {
  return supportedAuthMethods({ clientCertificates: certificatesCanArrive(config) });
}

export function clientCertificateSource(config: CertificateConfig): ClientCertificateSource | undefined {
  if (!certificatesCanArrive(config)) return undefined;
  return new ClientCertificateSource({ trustedProxies: config.trustedProxies, clientCertHeader: config.clientCertHeader });
}

/**
 * RFC 8414 / RFC 8705 §2.3 and §3.3 metadata, advertised only when a client certificate can reach
 * the token endpoint (native mTLS or a trusted proxy): otherwise no client could use them.
 */
export function tlsMetadata(config: CertificateConfig): Record<string, unknown> {
  if (!certificatesCanArrive(config)) return {};
  return {
    token_endpoint_auth_methods_supported: clientAuthMethods(config),
    tls_client_certificate_bound_access_tokens: true,
  };
}
