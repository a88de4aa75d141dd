/** `--cert-file PATH`: the values a client is registered with, read from its PEM certificate instead of typed. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeCertificate } from '../tls/client-certificate.js';
import { UsageError } from './exit-codes.js';

export const CERT_USES = ['subject-dn', 'thumbprint', 'both'] as const;
export type CertUse = (typeof CERT_USES)[number];

export interface CertificateValues {
  /** RFC 4514 order (leaf first), whatever order the tools display it in. */
  readonly subjectDn: string;
  /** x5t#S256 */
  readonly thumbprint: string;
}

export function readCertificateFile(path: string): CertificateValues {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--cert-file ${path}: ${(err as Error).message}`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch {
    throw new UsageError(`--cert-file ${path}: not a PEM certificate`);
  }
  const { subjectDn, thumbprint } = describeCertificate(x509, 'tls');
  return { subjectDn: subjectDn!, thumbprint };
}
