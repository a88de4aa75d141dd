// Reference implementation: panva's oidc-provider v9, configured as a pure client_credentials
// token server issuing ES256-signed JWT access tokens (resource indicators feature with a default
// resource whose accessTokenFormat is 'jwt'). One client, client_secret_basic, in-memory adapter.
// Token endpoint and JWKS are routed at the same paths as d1-authz. Answers standard RFC 6749 JSON
// (expires_in is a number, no expires_at).
//
// Env: PORT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET (required). Prints `READY <port>` when listening.

import { randomBytes } from 'node:crypto';

import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

import {
  BENCH_AUDIENCE,
  BENCH_SCOPES,
  JWKS_PATH,
  TOKEN_PATH,
  TOKEN_TTL_S,
  portFromEnv,
  requireEnv,
} from '../lib/shared.js';

const port = portFromEnv();
const clientId = requireEnv('BENCH_CLIENT_ID');
const clientSecret = requireEnv('BENCH_CLIENT_SECRET');

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const resourceServer = {
  scope: BENCH_SCOPES.join(' '),
  audience: BENCH_AUDIENCE,
  accessTokenTTL: TOKEN_TTL_S,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'ES256' } },
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: BENCH_SCOPES.join(' '),
    },
  ],
  jwks: { keys: [signingJwk] },
  clientDefaults: { id_token_signed_response_alg: 'ES256' },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  scopes: [...BENCH_SCOPES],
  ttl: { ClientCredentials: TOKEN_TTL_S },
  routes: { token: TOKEN_PATH, jwks: JWKS_PATH },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => BENCH_AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => {
        if (resourceIndicator !== BENCH_AUDIENCE) throw new errors.InvalidTarget();
        return resourceServer;
      },
    },
  },
});

// Server errors would otherwise be swallowed silently; surface them (stderr is kept by the harness).
provider.on('server_error', (_ctx: unknown, err: unknown) => {
  process.stderr.write(`server_error: ${String(err)}\n`);
});

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY ${port}\n`);
});

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
