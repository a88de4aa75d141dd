/** Start-up policy around TLS: the insecure-HTTP warning, and what the metadata advertises. */
import type { Config } from '../config/schema.js';
import { isLoopbackHost } from './addresses.js';
import { ClientCertificateSource } from './client-certificate.js';

type TlsPolicyConfig = Pick<Config, 'host' | 'tlsCert' | 'tlsClientCa' | 'allowInsecureHttp' | 'trustedProxies' | 'clientCertHeader'>;

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
export function clientCertificateSource(config: TlsPolicyConfig): ClientCertificateSource | undefined {
  if (!config.tlsClientCa && config.trustedProxies.length === 0) return undefined;
  return new ClientCertificateSource({ trustedProxies: config.trustedProxies, clientCertHeader: config.clientCertHeader });
}

/**
 * RFC 8414 / RFC 8705 §2.3 and §3.3 metadata, advertised only when a client certificate can reach
 * the token endpoint (native mTLS or a trusted proxy): otherwise no client could use them.
 */
export function tlsMetadata(config: TlsPolicyConfig): Record<string, unknown> {
  if (!config.tlsClientCa && config.trustedProxies.length === 0) return {};
  return {
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'tls_client_auth'],
    tls_client_certificate_bound_access_tokens: true,
  };
}
