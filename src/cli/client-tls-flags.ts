/** `client create/update` options for RFC 8705 (mTLS client authentication, certificate-bound tokens). */
import { Option, type Command } from 'commander';
import { TOKEN_ENDPOINT_AUTH_METHODS, type Client } from '../model/client.js';
import type { ClientTlsSettings } from '../domain/clients/client-tls.js';
import { CERT_USES, readCertificateFile, type CertUse } from './cert-file.js';
import { UsageError } from './exit-codes.js';

export interface TlsFlags {
  authMethod?: string;
  certSubjectDn?: string;
  certSanDns?: string;
  certSanUri?: string;
  certSanEmail?: string;
  certThumbprint?: string;
  certFile?: string;
  certUse?: CertUse;
  boundTokens?: boolean;
}

export function withTlsFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--auth-method <method>', 'token endpoint authentication (RFC 8705 tls_client_auth: certificate, no secret)').choices([...TOKEN_ENDPOINT_AUTH_METHODS]))
    .option('--cert-subject-dn <dn>', 'expected client certificate subject, RFC 4514 order, common name first ("CN=d1,O=Thales,C=FR"); "" clears')
    .option('--cert-san-dns <name>', 'expected dNSName SAN of the client certificate; "" clears')
    .option('--cert-san-uri <uri>', 'expected URI SAN of the client certificate; "" clears')
    .option('--cert-san-email <email>', 'expected email SAN of the client certificate; "" clears')
    .option('--cert-thumbprint <x5t>', 'pin the client certificate: base64url or hex SHA-256 of its DER; "" clears')
    .option('--cert-file <path>', "take the expected subject DN (RFC 4514 order) or the thumbprint from the client's PEM certificate (see --cert-use)")
    .addOption(new Option('--cert-use <what>', 'what --cert-file sets').choices([...CERT_USES]).default('subject-dn'))
    .option('--bound-tokens', 'issue certificate-bound tokens (cnf x5t#S256, RFC 8705 §3)')
    .option('--no-bound-tokens', 'issue unbound tokens');
}

export function tlsSettingsFrom(o: TlsFlags): ClientTlsSettings | undefined {
  let subjectDn = o.certSubjectDn;
  let thumbprint = o.certThumbprint;
  let fromCertificate = false;
  if (o.certFile !== undefined) {
    const cert = readCertificateFile(o.certFile);
    const use = o.certUse ?? 'subject-dn';
    if (use !== 'thumbprint') {
      if (subjectDn !== undefined) throw new UsageError('--cert-file and --cert-subject-dn both set the subject DN: give one');
      subjectDn = cert.subjectDn;
      fromCertificate = true;
    }
    if (use !== 'subject-dn') {
      if (thumbprint !== undefined) throw new UsageError('--cert-file and --cert-thumbprint both set the thumbprint: give one');
      thumbprint = cert.thumbprint;
    }
  }
  const s: ClientTlsSettings = {
    authMethod: o.authMethod,
    subjectDn,
    sanDns: o.certSanDns,
    sanUri: o.certSanUri,
    sanEmail: o.certSanEmail,
    thumbprint,
    boundTokens: o.boundTokens,
  };
  if (!Object.values(s).some((v) => v !== undefined)) return undefined;
  return fromCertificate ? { ...s, subjectDnFromCertificate: true } : s;
}

export function tlsRecord(c: Client): [string, string | boolean | null][] {
  const pairs: [string, string | boolean | null][] = [['auth method', c.tokenEndpointAuthMethod ?? 'client_secret_basic']];
  const add = (label: string, v: string | null | undefined) => v && pairs.push([label, v]);
  add('cert subject', c.tlsClientAuthSubjectDn);
  add('cert SAN DNS', c.tlsClientAuthSanDns);
  add('cert SAN URI', c.tlsClientAuthSanUri);
  add('cert SAN email', c.tlsClientAuthSanEmail);
  add('cert x5t#S256', c.tlsClientCertificateThumbprint);
  pairs.push(['bound tokens', c.certificateBoundTokens === true]);
  return pairs;
}

/** A tls_client_auth client authenticates with its certificate: its (stored, unused) secret is not shown. */
export const usesCertificateOnly = (c: Client) => c.tokenEndpointAuthMethod === 'tls_client_auth';
