// Full check of a token response: shape (D1 or RFC 6749) and the ES256 JWT against the server's JWKS.

import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';

import { TOKEN_TTL_S } from './shared.js';
import type { ResponseShape } from './types.js';

export interface TokenChecker {
  /** null when the body is a valid token response, else what is wrong. */
  check(body: string): Promise<string | null>;
}

export async function makeChecker(jwksUrl: string, shape: ResponseShape): Promise<TokenChecker> {
  const res = await fetch(jwksUrl);
  if (!res.ok) throw new Error(`JWKS ${jwksUrl} answered ${res.status}`);
  return checkerFor((await res.json()) as JSONWebKeySet, shape);
}

/**
 * The same check against a JWKS already fetched (e.g. over mutual TLS). With `thumbprint`, the
 * token must be certificate-bound to it (`cnf.x5t#S256`, RFC 8705 §3.1); with null, it must be unbound.
 */
export function checkerFor(jwks: JSONWebKeySet, shape: ResponseShape, thumbprint?: string | null): TokenChecker {
  const keyset = createLocalJWKSet(jwks);
  return {
    async check(body: string): Promise<string | null> {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return `not JSON: ${body.slice(0, 120)}`;
      }
      const at = json['access_token'];
      if (typeof at !== 'string') return 'no access_token';
      if (typeof json['token_type'] !== 'string' || json['token_type'].toLowerCase() !== 'bearer') {
        return `token_type ${String(json['token_type'])}`;
      }
      if (shape === 'd1') {
        if (json['token_type'] !== 'Bearer') return `token_type ${String(json['token_type'])} (D1 wants "Bearer")`;
        if (json['expires_in'] !== String(TOKEN_TTL_S)) return `expires_in ${JSON.stringify(json['expires_in'])} (want "${TOKEN_TTL_S}")`;
        if (typeof json['scope'] !== 'string') return 'no scope';
        const ea = json['expires_at'];
        if (typeof ea !== 'string' || Number.isNaN(Date.parse(ea))) return `expires_at ${JSON.stringify(ea)}`;
      } else if (typeof json['expires_in'] !== 'number') {
        return `expires_in ${JSON.stringify(json['expires_in'])} (want a number)`;
      }
      try {
        const header = decodeProtectedHeader(at);
        if (header.alg !== 'ES256') return `alg ${String(header.alg)}`;
        const { payload } = await jwtVerify(at, keyset, { algorithms: ['ES256'] });
        if (typeof payload.exp !== 'number' || payload.exp * 1000 <= Date.now()) return 'exp missing or past';
        if (thumbprint !== undefined) {
          const bound = (payload['cnf'] as Record<string, unknown> | undefined)?.['x5t#S256'];
          if (thumbprint === null && payload['cnf'] !== undefined) return `unexpected cnf ${JSON.stringify(payload['cnf'])}`;
          if (thumbprint !== null && bound !== thumbprint) return `cnf.x5t#S256 ${JSON.stringify(bound)} (want ${thumbprint})`;
        }
      } catch (err) {
        return `JWT: ${(err as Error).message}`;
      }
      return null;
    },
  };
}
