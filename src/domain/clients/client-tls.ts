/**
 * Validation of a client's RFC 8705 settings (admin side). The matching rules applied on token
 * requests live in model/client-certificate.ts.
 */
import { displayOrderToRfc4514, isValidDn } from '../../model/distinguished-name.js';
import { expectedCertificate, subjectValueCount } from '../../model/client-certificate.js';
import type { ClientTlsPatch } from '../../store/client-repository.js';
import { TOKEN_ENDPOINT_AUTH_METHODS, type Client, type TokenEndpointAuthMethod } from '../../model/client.js';
import { D1AuthzError } from '../../errors/d1authz-error.js';

/** As the admin gives them; an empty string or null clears a value. */
export interface ClientTlsSettings {
  readonly authMethod?: string;
  readonly subjectDn?: string | null;
  readonly sanDns?: string | null;
  readonly sanUri?: string | null;
  readonly sanEmail?: string | null;
  /** base64url SHA-256 of the DER certificate, or its hex form (`openssl x509 -fingerprint -sha256`). */
  readonly thumbprint?: string | null;
  readonly boundTokens?: boolean;
  /** The subject DN was read from the certificate itself (its order is the certificate's, whatever it looks like). */
  readonly subjectDnFromCertificate?: boolean;
}

export class ClientTlsSettingError extends D1AuthzError {
  override readonly name = 'ClientTlsSettingError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CLIENT_TLS_SETTING', message, options);
  }
}

const DNS_NAME = /^(?=.{1,253}$)(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const B64URL_SHA256 = /^[A-Za-z0-9_-]{43}$/;
const HEX_SHA256 = /^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/;

type Cleared = string | null | undefined;
const clear = (v: string | null | undefined): Cleared => (v === undefined ? undefined : v === null || v.trim() === '' ? null : v.trim());

function check(value: Cleared, ok: (v: string) => boolean, message: string): Cleared {
  if (typeof value === 'string' && !ok(value)) throw new ClientTlsSettingError(message);
  return value;
}

function isUri(v: string): boolean {
  if (v.length > 2048) return false;
  try {
    new URL(v);
    return true;
  } catch {
    return false;
  }
}

export function normalizeThumbprint(v: string): string | undefined {
  const t = v.trim().replace(/^sha256 fingerprint=/i, '');
  if (B64URL_SHA256.test(t)) return t;
  if (HEX_SHA256.test(t)) return Buffer.from(t.replace(/:/g, ''), 'hex').toString('base64url');
  return undefined;
}

/** Settings to a patch of Client fields: each value checked alone. */
export function tlsPatch(s: ClientTlsSettings | undefined): ClientTlsPatch {
  if (!s) return {};
  const patch: { -readonly [K in keyof ClientTlsPatch]: ClientTlsPatch[K] } = {};
  if (s.authMethod !== undefined) {
    if (!TOKEN_ENDPOINT_AUTH_METHODS.includes(s.authMethod as TokenEndpointAuthMethod)) {
      throw new ClientTlsSettingError(`the auth method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`);
    }
    patch.tokenEndpointAuthMethod = s.authMethod as TokenEndpointAuthMethod;
  }
  const dn = check(clear(s.subjectDn), isValidDn, 'the certificate subject DN must be an RFC 4514 string, e.g. "CN=d1-client,O=Thales,C=FR"');
  const reordered = typeof dn === 'string' && !s.subjectDnFromCertificate ? displayOrderToRfc4514(dn) : undefined;
  if (reordered !== undefined) {
    throw new ClientTlsSettingError(
      `the certificate subject DN "${dn}" is in openssl's display order (country first), which never matches: ` +
        `RFC 4514 writes the common name first: "${reordered}" (or take it from the certificate with --cert-file)`,
    );
  }
  const dns = check(clear(s.sanDns), (v) => DNS_NAME.test(v), 'the certificate dNSName SAN must be a DNS name');
  const uri = check(clear(s.sanUri), isUri, 'the certificate URI SAN must be an absolute URI');
  const email = check(clear(s.sanEmail), (v) => EMAIL.test(v) && v.length <= 320, 'the certificate email SAN must be an email address');
  const thumb = clear(s.thumbprint);
  if (dn !== undefined) patch.tlsClientAuthSubjectDn = dn;
  if (dns !== undefined) patch.tlsClientAuthSanDns = dns;
  if (uri !== undefined) patch.tlsClientAuthSanUri = uri;
  if (email !== undefined) patch.tlsClientAuthSanEmail = email;
  if (thumb !== undefined) {
    const normalized = thumb === null ? null : normalizeThumbprint(thumb);
    if (normalized === undefined) throw new ClientTlsSettingError('the certificate thumbprint must be a base64url or hex SHA-256 (x5t#S256) of the certificate');
    patch.tlsClientCertificateThumbprint = normalized;
  }
  if (s.boundTokens !== undefined) patch.certificateBoundTokens = s.boundTokens;
  return patch;
}

/** The rules across fields, on the client as it will be stored. */
export function checkClientTls(client: Client): void {
  if (client.tokenEndpointAuthMethod === 'tls_client_auth' && subjectValueCount(expectedCertificate(client)) !== 1) {
    // RFC 8705 §2.1.2: "A client using the tls_client_auth authentication method MUST use exactly one of the below metadata parameters".
    throw new ClientTlsSettingError('a tls_client_auth client needs exactly one of --cert-subject-dn, --cert-san-dns, --cert-san-uri, --cert-san-email (RFC 8705 §2.1.2)');
  }
}
