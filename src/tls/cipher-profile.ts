/**
 * The TLS cipher policy of every listener (serve, gateway): Mozilla's "intermediate" profile
 * (https://wiki.mozilla.org/Security/Server_Side_TLS), TLS 1.3 plus TLS 1.2 with ECDHE key
 * exchange and AEAD ciphers only. Left out on purpose: CBC and SHA-1 suites, static-RSA key
 * exchange (no forward secrecy), and finite-field DHE.
 */
import { createSecureContext } from 'node:tls';

export const MIN_TLS_VERSION = 'TLSv1.2';

export const INTERMEDIATE_CIPHERS = [
  // TLS 1.3 (OpenSSL names them apart; Node takes both kinds in one list)
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  // TLS 1.2
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Why OpenSSL cannot use `ciphers` (undefined when it can). */
export function cipherListProblem(ciphers: string): string | undefined {
  try {
    createSecureContext({ ciphers, minVersion: MIN_TLS_VERSION });
    return undefined;
  } catch (err) {
    return `OpenSSL refuses this cipher list (${(err as Error).message})`;
  }
}
