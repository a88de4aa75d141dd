/**
 * The gateway's configuration: a routes file (JSON or YAML) plus command-line flags, with the
 * issuer and audience defaulting to the d1-authz server configuration of the same environment.
 *
 *   # routes.yaml
 *   unlisted: deny                 # or "authenticated": any valid token, no scope
 *   routes:
 *     - method: GET                # a method or a list; omitted: any method
 *       path: /banking/d1/v1/issuers/*\/consumers/**
 *       scopes: [consumer]
 *     - method: [POST]
 *       path: /banking/d1/v1/issuers/*\/otp
 *       scopes: [otp]
 *   upstreamTimeoutMs: 10000       # optional; flags win over the file
 *   revocation:                    # optional: honour revocations (secret from D1AUTHZ_GATEWAY_CLIENT_SECRET)
 *     mode: feed                   # or "introspection"
 *     clientId: consumer-api
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ConnectionLimits } from '../transport/connection-limits.js';
import { SCOPE_TOKEN } from '../model/scope.js';
import { compilePattern, type RouteRule } from './routes.js';
import { D1AuthzError } from '../errors/d1authz-error.js';

const METHOD = /^[A-Za-z]+$/;

const routeSchema = z
  .object({
    method: z.union([z.string().regex(METHOD), z.array(z.string().regex(METHOD)).min(1)]).optional(),
    path: z.string().min(1),
    scopes: z.array(z.string().regex(SCOPE_TOKEN, 'not a valid scope token')),
  })
  .strict();

const fileSchema = z
  .object({
    routes: z.array(routeSchema),
    unlisted: z.enum(['deny', 'authenticated']).default('deny'),
    upstream: z.url().optional(),
    issuer: z.url().optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    jwksUri: z.url().optional(),
    upstreamTimeoutMs: z.number().int().min(1).max(600_000).optional(),
    revocation: z
      .object({
        mode: z.enum(['feed', 'introspection']),
        clientId: z.string().min(1),
        pollIntervalMs: z.number().int().min(100).max(60_000).optional(),
        cacheTtlMs: z.number().int().min(0).max(300_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export interface RevocationSettings {
  readonly mode: 'feed' | 'introspection';
  readonly clientId: string;
  readonly clientSecret: string;
  readonly pollIntervalMs?: number;
  readonly cacheTtlMs?: number;
}

export interface GatewayConfig {
  readonly upstream: string;
  readonly issuer: string;
  readonly audience: string | readonly string[];
  readonly jwksUri?: string;
  readonly upstreamTimeoutMs: number;
  readonly unlisted: 'deny' | 'authenticated';
  readonly routes: readonly RouteRule[];
  readonly host: string;
  readonly port: number;
  readonly revocation?: RevocationSettings;
  /** Default CONNECTION_LIMITS; the command takes the caps from D1AUTHZ_MAX_CONNECTIONS(_PER_ADDRESS), as serve does. */
  readonly connectionLimits?: ConnectionLimits;
}

export class GatewayConfigError extends D1AuthzError {
  override readonly name = 'GatewayConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_GATEWAY_CONFIG', message, options);
  }
}

export interface GatewayOverrides {
  upstream?: string;
  issuer?: string;
  audience?: string;
  jwksUri?: string;
  upstreamTimeoutMs?: number;
  host?: string;
  port?: number;
}

export interface GatewayDefaults {
  readonly issuer: string;
  readonly audience: string;
}

export function compileRoutes(routes: z.infer<typeof routeSchema>[]): RouteRule[] {
  return routes.map((r, i) => {
    const methods = r.method === undefined ? undefined : new Set((Array.isArray(r.method) ? r.method : [r.method]).map((m) => m.toUpperCase()));
    let match: RouteRule['match'];
    try {
      match = compilePattern(r.path);
    } catch (err) {
      throw new GatewayConfigError(`routes[${i}]: ${(err as Error).message}`);
    }
    return { methods, path: r.path, scopes: r.scopes, match };
  });
}

/** Reads and checks the routes file; flags override it; the server config gives issuer/audience defaults. */
export function loadGatewayConfig(
  file: string,
  overrides: GatewayOverrides,
  defaults: GatewayDefaults,
  env: NodeJS.ProcessEnv = process.env,
): GatewayConfig {
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new GatewayConfigError(`routes file ${file}: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new GatewayConfigError(`routes file ${file} is invalid:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const upstream = overrides.upstream ?? c.upstream;
  if (!upstream) throw new GatewayConfigError('no upstream: pass --upstream URL (or set "upstream" in the routes file)');
  let upstreamUrl: URL;
  try {
    upstreamUrl = new URL(upstream);
  } catch {
    throw new GatewayConfigError(`upstream ${upstream} is not a URL`);
  }
  if (upstreamUrl.protocol !== 'http:' && upstreamUrl.protocol !== 'https:') throw new GatewayConfigError('upstream must be an http(s) URL');
  // Requests are forwarded with their own path, unchanged: the upstream is an origin, not a prefix.
  if (upstreamUrl.pathname !== '/' || upstreamUrl.search !== '' || upstreamUrl.username !== '') {
    throw new GatewayConfigError('upstream must be an origin (scheme://host:port) without path, query or credentials');
  }
  let revocation: RevocationSettings | undefined;
  if (c.revocation) {
    const clientSecret = env.D1AUTHZ_GATEWAY_CLIENT_SECRET;
    if (!clientSecret) throw new GatewayConfigError('revocation is configured: set D1AUTHZ_GATEWAY_CLIENT_SECRET to the secret of its client');
    revocation = { ...c.revocation, clientSecret };
  }
  return {
    upstream: upstreamUrl.origin,
    issuer: overrides.issuer ?? c.issuer ?? defaults.issuer,
    audience: overrides.audience ?? c.audience ?? defaults.audience,
    jwksUri: overrides.jwksUri ?? c.jwksUri,
    upstreamTimeoutMs: overrides.upstreamTimeoutMs ?? c.upstreamTimeoutMs ?? 10_000,
    unlisted: c.unlisted,
    routes: compileRoutes(c.routes),
    host: overrides.host ?? '127.0.0.1',
    port: overrides.port ?? 8081,
    revocation,
  };
}
