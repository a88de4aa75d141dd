/** A signing key as the admin API and `d1-authz keys ... --json` show it: snake_case, no key material. */
import type { KeyInfo } from './key-service.js';

export const keyJson = (k: KeyInfo) => ({
  kid: k.kid,
  alg: k.alg,
  provider: k.provider,
  state: k.state,
  created_at: k.createdAt,
  activate_at: k.activateAt,
  retire_at: k.retireAt,
  ...(k.revokedAt !== undefined ? { revoked_at: k.revokedAt } : {}),
  ...(k.revokeReason !== undefined ? { revoke_reason: k.revokeReason } : {}),
  ...(k.destroyedAt !== undefined ? { destroyed_at: k.destroyedAt } : {}),
});
