/** JWS algorithms (RFC 7518 §3, RFC 8037 §3.1) the server can sign access tokens with. */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Where signing keys are held: sealed in the store (`local`) or in an HSM (`pkcs11`). */
export const KEY_PROVIDERS = ['local', 'pkcs11'] as const;
export type KeyProviderName = (typeof KEY_PROVIDERS)[number];
