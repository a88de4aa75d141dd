/** What the lockout is told of a client authentication: who tries which client, from where. */
import type { Client } from '../../model/client.js';

/** An attempt about to be verified (a slow hash, or a certificate check). */
export interface Attempt {
  readonly clientId: string;
  /** The secret as sent; absent for tls_client_auth. */
  readonly secret?: string;
  /** The source address (see ./lockout-address.ts for how it is keyed). */
  readonly address: string;
  /** Present when a certificate came with the request: true when it is the one the client is bound to. */
  readonly presentsBoundCertificate?: (client: Client) => boolean;
}

/** A failed client authentication: wrong secret, unknown client, malformed or missing credentials. */
export interface FailedAttempt {
  /** As presented; absent when the credentials could not be read at all. */
  readonly clientId?: string;
  readonly address: string;
}
