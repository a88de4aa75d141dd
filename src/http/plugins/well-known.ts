/** The JWKS (public keys only) and RFC 8414 authorization server metadata. */
import type { FastifyInstance } from 'fastify';
import type { KeyRing } from '../../domain/keys/key-ring.js';
import { supportedAuthMethods } from '../../protocol/client-auth/index.js';
import { supportedGrantTypes } from '../../protocol/grants/index.js';

export interface WellKnownOptions {
  readonly basePath: string;
  readonly issuer: string;
  readonly jwksMaxAge: number;
  readonly keyRing: KeyRing;
  readonly signingAlg: string;
  /** Extra metadata members contributed by other features (introspection, mTLS, ...). */
  readonly extraMetadata?: Record<string, unknown>;
}

export async function wellKnown(app: FastifyInstance, o: WellKnownOptions): Promise<void> {
  app.get(`${o.basePath}/.well-known/jwks.json`, async (_request, reply) =>
    reply.header('cache-control', `public, max-age=${o.jwksMaxAge}`).type('application/json').send(o.keyRing.jwks()),
  );

  const metadata = JSON.stringify(authorizationServerMetadata(o));
  const sendMetadata = async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('cache-control', 'public, max-age=300').type('application/json').send(metadata);
  // RFC 8414 §3.1 inserts the well-known segment before the issuer's path; many clients also try it after.
  app.get(`/.well-known/oauth-authorization-server${o.basePath}`, sendMetadata);
  app.get(`${o.basePath}/.well-known/oauth-authorization-server`, sendMetadata);
}

/**
 * RFC 8414 §2 metadata. The grant and client-authentication lists come from the protocol's
 * registries; the methods that need a client certificate are added by tlsMetadata (tls/policy.ts)
 * where one can arrive, in place (the extra members replace, and keep the key order).
 */
export function authorizationServerMetadata(o: Pick<WellKnownOptions, 'issuer' | 'signingAlg' | 'extraMetadata'>): Record<string, unknown> {
  return {
    issuer: o.issuer,
    token_endpoint: `${o.issuer}/oauth2/token`,
    jwks_uri: `${o.issuer}/.well-known/jwks.json`,
    grant_types_supported: supportedGrantTypes(),
    token_endpoint_auth_methods_supported: supportedAuthMethods({ clientCertificates: false }),
    response_types_supported: [],
    access_token_signing_alg_values_supported: [o.signingAlg],
    ...o.extraMetadata,
  };
}

/**
 * Which token response shape a client gets unless it has its own (`client update --expires-in-format`,
 * `--expires-at`). Not RFC 8414 members; §2 allows "additional authorization server metadata parameters".
 */
export function responseShapeMetadata(config: { readonly expiresInFormat: 'string' | 'number'; readonly expiresAt: boolean }): Record<string, unknown> {
  return { expires_in_format_default: config.expiresInFormat, expires_at_default: config.expiresAt };
}
