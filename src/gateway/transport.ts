/**
 * How the gateway meets its callers, with the same settings and rules as `serve`: TLS from
 * D1AUTHZ_TLS_CERT / D1AUTHZ_TLS_KEY (TLS 1.2 minimum, the ciphers of D1AUTHZ_TLS_CIPHERS), a required client certificate with
 * D1AUTHZ_TLS_CLIENT_CA, the certificate of a trusted proxy's header (D1AUTHZ_TRUSTED_PROXIES), and
 * plain HTTP refused off loopback unless D1AUTHZ_ALLOW_INSECURE_HTTP. The client certificate is what
 * the guard compares with a certificate-bound token's cnf (RFC 8705 §3).
 */
import type { ServerOptions } from 'node:https';
import type { Config } from '../config/schema.js';
import { isLoopbackHost } from '../tls/addresses.js';
import { DEFAULT_CLIENT_CERT_HEADER, XFCC_HEADER, type ClientCertificateSource } from '../tls/client-certificate.js';
import { clientCertificateSource } from '../tls/policy.js';
import { tlsServerOptions, type TlsConfig } from '../tls/server-options.js';
import { DEFAULT_TICKET_KEY_ROTATION_S } from '../tls/ticket-keys.js';
import { GatewayConfigError } from './config.js';

export type GatewayTransportSettings = Pick<
  Config,
  'tlsCert' | 'tlsKey' | 'tlsClientCa' | 'allowInsecureHttp' | 'trustedProxies' | 'clientCertHeader'
> &
  Partial<Pick<Config, 'tlsTicketKeyRotation'>> &
  Pick<TlsConfig, 'tlsCiphers'>;

export interface GatewayTransport {
  /** TLS server options; absent: plain HTTP. */
  readonly https?: ServerOptions;
  /** The files behind `https`, watched for renewal (SIGHUP or a change on disk). */
  readonly tlsFiles?: TlsConfig;
  /** New TLS session ticket keys this often (ticket-keys.ts). */
  readonly ticketKeyRotationMs?: number;
  /** Reads the caller's certificate (TLS connection or trusted proxy); absent: no certificate can arrive. */
  readonly certificates?: ClientCertificateSource;
  /** Plain HTTP off loopback, explicitly allowed: the gateway warns at start. */
  readonly insecure: boolean;
  /** Headers that carry a client certificate (the configured one, nginx's, Envoy's): never forwarded upstream. */
  readonly certificateHeaders: readonly string[];
}

export function gatewayTransport(settings: GatewayTransportSettings, host: string): GatewayTransport {
  const insecure = settings.tlsCert === undefined && !isLoopbackHost(host);
  if (insecure && !settings.allowInsecureHttp) {
    throw new GatewayConfigError(
      `refusing plain HTTP on ${host}, a non-loopback address: bearer tokens would cross the network in clear. ` +
        'Set D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY, listen on loopback behind a TLS proxy, or set D1AUTHZ_ALLOW_INSECURE_HTTP=true.',
    );
  }
  const https = settings.tlsCert ? tlsServerOptions(settings) : undefined;
  const certificates = clientCertificateSource(settings);
  return {
    ...(https ? { https, tlsFiles: settings, ticketKeyRotationMs: (settings.tlsTicketKeyRotation ?? DEFAULT_TICKET_KEY_ROTATION_S) * 1000 } : {}),
    ...(certificates ? { certificates } : {}),
    insecure,
    certificateHeaders: [...new Set([settings.clientCertHeader.toLowerCase(), DEFAULT_CLIENT_CERT_HEADER, XFCC_HEADER])],
  };
}
