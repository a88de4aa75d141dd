/** TLS for the token server and the gateway: server options, hot reload, client certificates, policy. */
export { isLoopbackHost, parseCidr, TrustedProxies } from './addresses.js';
export {
  certificateFromHeaderValue,
  ClientCertificateSource,
  describeCertificate,
  nodeSubjectToRfc4514,
  parseSubjectAltName,
  parseXfcc,
  XFCC_HEADER,
} from './client-certificate.js';
export type { ClientCertificateSourceOptions } from './client-certificate.js';
export { clientCertificateSource, tlsMetadata, warnIfInsecureHttp } from './policy.js';
export { tlsServerOptions, watchTlsFiles } from './server-options.js';
export type { TlsConfig, TlsWatcher, TlsWatchOptions } from './server-options.js';
