/** `client create/update` options for RFC 8705 (mTLS client authentication, certificate-bound tokens). */
import { Option, type Command } from 'commander';
import { TOKEN_ENDPOINT_AUTH_METHODS, type Client } from '../domain/clients/client.js';
import type { ClientTlsSettings } from '../domain/clients/client-tls.js';

export interface TlsFlags {
  authMethod?: string;
  certSubjectDn?: string;
  certSanDns?: string;
  certSanUri?: string;
  certSanEmail?: string;
  certThumbprint?: string;
  boundTokens?: boolean;
}

export function withTlsFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--auth-method <method>', 'token endpoint authentication (RFC 8705 tls_client_auth: certificate, no secret)').choices([...TOKEN_ENDPOINT_AUTH_METHODS]))
    .option('--cert-subject-dn <dn>', 'expected client certificate subject, RFC 4514 ("CN=d1,O=Thales,C=FR"); "" clears')
    .option('--cert-san-dns <name>', 'expected dNSName SAN of the client certificate; "" clears')
    .option('--cert-san-uri <uri>', 'expected URI SAN of the client certificate; "" clears')
    .option('--cert-san-email <email>', 'expected email SAN of the client certificate; "" clears')
    .option('--cert-thumbprint <x5t>', 'pin the client certificate: base64url or hex SHA-256 of its DER; "" clears')
    .option('--bound-tokens', 'issue certificate-bound tokens (cnf x5t#S256, RFC 8705 §3)')
    .option('--no-bound-tokens', 'issue unbound tokens');
}

export function tlsSettingsFrom(o: TlsFlags): ClientTlsSettings | undefined {
  const s: ClientTlsSettings = {
    authMethod: o.authMethod,
    subjectDn: o.certSubjectDn,
    sanDns: o.certSanDns,
    sanUri: o.certSanUri,
    sanEmail: o.certSanEmail,
    thumbprint: o.certThumbprint,
    boundTokens: o.boundTokens,
  };
  return Object.values(s).some((v) => v !== undefined) ? s : undefined;
}

export function describeTls(c: Client): string {
  const lines = [`auth method:    ${c.tokenEndpointAuthMethod ?? 'client_secret_basic'}`];
  const add = (label: string, v: string | null | undefined) => v && lines.push(`${label}${v}`);
  add('cert subject:   ', c.tlsClientAuthSubjectDn);
  add('cert SAN DNS:   ', c.tlsClientAuthSanDns);
  add('cert SAN URI:   ', c.tlsClientAuthSanUri);
  add('cert SAN email: ', c.tlsClientAuthSanEmail);
  add('cert x5t#S256:  ', c.tlsClientCertificateThumbprint);
  lines.push(`bound tokens:   ${c.certificateBoundTokens === true}`);
  return lines.join('\n');
}

/** A tls_client_auth client authenticates with its certificate: its (stored, unused) secret is not shown. */
export const usesCertificateOnly = (c: Client) => c.tokenEndpointAuthMethod === 'tls_client_auth';
