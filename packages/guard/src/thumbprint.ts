/**
 * RFC 8705 §3.1 certificate thumbprint (`cnf["x5t#S256"]`): base64url(SHA-256(DER certificate)).
 */
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';

export function certificateThumbprint(cert: Uint8Array | X509Certificate): string {
  const der = cert instanceof X509Certificate ? cert.raw : cert;
  return createHash('sha256').update(der).digest('base64url');
}

/**
 * Thumbprint of the client certificate presented on this request's TLS connection, or undefined
 * (plain HTTP, or no client certificate). Whether the certificate chains to a trusted CA is the TLS
 * server's business; for binding, possession of the key (proven by the handshake) is what counts.
 */
export function peerCertificateThumbprint(req: IncomingMessage): string | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket)) return undefined;
  const cert = socket.getPeerCertificate(false);
  // getPeerCertificate returns {} (or null on a destroyed socket) without a client certificate.
  if (!cert || !cert.raw || cert.raw.length === 0) return undefined;
  return certificateThumbprint(cert.raw);
}

/** Constant-time comparison of two thumbprint strings. */
export function thumbprintsEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
