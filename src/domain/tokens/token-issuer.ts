/** Mints RFC 9068 JWT access tokens for the client credentials grant. */
import { randomUUID } from 'node:crypto';
import type { TokenConfirmation } from '../../model/client-certificate.js';
import type { IssuedToken } from '../../model/issued-token.js';
import type { Client } from '../../model/client.js';
import type { KeyRing } from '../keys/key-ring.js';
import { D1AuthzError } from '../../errors/d1authz-error.js';

export class NoSigningKeyError extends D1AuthzError {
  override readonly name = 'NoSigningKeyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NO_SIGNING_KEY', message, options);
  }
}

export interface TokenPolicy {
  readonly issuer: string;
  readonly audience: string;
  readonly tokenTtl: number;
  readonly maxTokenTtl: number;
}

export class TokenIssuer {
  // Pre-serialised once: the issuer and default audience never change per token.
  private readonly issuerJson: string;
  private readonly defaultAudienceJson: string;

  constructor(
    private readonly keys: KeyRing,
    private readonly policy: TokenPolicy,
    private readonly now: () => number = Date.now,
  ) {
    this.issuerJson = JSON.stringify(policy.issuer);
    this.defaultAudienceJson = JSON.stringify(policy.audience);
  }

  /** `confirmation`: RFC 8705 §3.1 certificate binding, as `"cnf":{"x5t#S256":...}`. */
  async issue(client: Client, scopes: readonly string[], confirmation?: TokenConfirmation): Promise<IssuedToken> {
    const nowMs = this.now();
    const signer = this.keys.signer(nowMs);
    if (!signer) throw new NoSigningKeyError('no active signing key');
    const ttl = Math.min(client.tokenTtl ?? this.policy.tokenTtl, this.policy.maxTokenTtl);
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + ttl;
    const id = JSON.stringify(client.clientId);
    const aud = client.audience === null ? this.defaultAudienceJson : JSON.stringify(client.audience);
    const scope = scopes.join(' ');
    const jti = randomUUID();
    const payload =
      `{"iss":${this.issuerJson},"sub":${id},"aud":${aud},"client_id":${id},"iat":${iat},"exp":${exp},"jti":"${jti}"` +
      (scope === '' ? '' : `,"scope":${JSON.stringify(scope)}`) +
      (confirmation ? `,"cnf":{"x5t#S256":${JSON.stringify(confirmation['x5t#S256'])}}}` : '}');
    return {
      accessToken: await signer.sign(payload),
      expiresIn: ttl,
      expiresAt: new Date(exp * 1000).toISOString(),
      scope,
      jti,
    };
  }
}
