/** What client authentication works on and answers, shared by the protocol steps and the domain's authenticator. */
import type { Client } from './client.js';

/** The id and secret of `Authorization: Basic` (RFC 6749 §2.3.1), as parsed by protocol/basic-auth.ts. */
export interface BasicCredentials {
  readonly clientId: string;
  /**
   * The secret as sent, not form-decoded: RFC 6749 §2.3.1 says id and secret are form-urlencoded
   * before base64, many clients skip that encoding, and both must be the same secret. The domain
   * compares secrets in one decoded form (domain/clients/secret-form.ts), the same at creation.
   */
  readonly secret: string;
}

/** Who attempts a slow verification: the hash queue is fair across these. */
export interface AttemptSource {
  readonly address: string;
}

/** The domain's verdict on presented credentials; a refusal's reason goes to the log and the audit trail only. */
export type AuthenticationResult =
  | { readonly ok: true; readonly client: Client }
  | { readonly ok: false; readonly reason: 'unknown_client' | 'wrong_secret' | 'disabled' | 'control_characters' };
