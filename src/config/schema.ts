import { z } from 'zod';

const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.preprocess((v) => (typeof v === 'string' ? !['false', '0', 'no', 'off', ''].includes(v.toLowerCase()) : v), z.boolean());

export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * Every setting, its default and its bounds. The env name of a setting is D1AUTHZ_ + its
 * name in SCREAMING_SNAKE_CASE (databaseUrl -> D1AUTHZ_DATABASE_URL).
 */
export const configSchema = z
  .object({
    databaseUrl: z
      .string()
      .regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'must start with sqlite: or postgres://')
      .default('sqlite:./data/d1-authz.sqlite'),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    /** `iss` of every token; defaults to http(s)://host:port + basePath. */
    issuer: z.url().optional(),
    basePath: z
      .string()
      .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must start with / and have no trailing slash')
      .default('/authz/d1/v1'),
    tokenTtl: seconds(1, 86_400).default(900),
    /** Cap for per-client TTLs; also how long a rotated-out key stays published. */
    maxTokenTtl: seconds(1, 86_400).default(3600),
    audience: z.string().min(1).default('d1-issuer-api'),
    expiresInFormat: z.enum(['string', 'number']).default('string'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** 32 bytes, base64 or hex. */
    masterKey: z.string().optional(),
    masterKeyFile: z.string().optional(),
    signingAlg: z.enum(SIGNING_ALGORITHMS).default('ES256'),
    /** How long a new key is published before it signs (covers JWKS caches and the other nodes). */
    keyActivationDelay: seconds(0, 7 * 86_400).default(120),
    /** Clock skew allowed between nodes and verifiers (s): a rotated-out key stays published this much longer. */
    clockSkew: seconds(0, 600).default(60),
    /** Max-age the JWKS is served with. */
    jwksMaxAge: seconds(0, 86_400).default(60),
    /** Lifetime of an entry in the verified-credential cache (skips the slow hash on repeat requests). */
    credentialCacheTtl: seconds(0, 3600).default(300),
    /** How often a node polls the store for changes made by the CLI or other nodes (ms). */
    syncIntervalMs: z.coerce.number().int().min(50).max(60_000).default(1000),
    /** log2 of the scrypt cost N for new secrets. 15 = 32 MiB, ~100 ms. */
    scryptCost: z.coerce.number().int().min(14).max(20).default(15),
    /** At most this many slow hash verifications pending at once; beyond that 503 (a flood of bad secrets must not exhaust the node). */
    maxPendingHashes: z.coerce.number().int().min(1).max(10_000).default(64),
    /** Safety net on top of change propagation: a cached client record is re-read after this long (s). */
    clientCacheTtl: seconds(1, 3600).default(60),
    /** While the store is unreachable, clients already known to this node keep getting tokens for this long (s). */
    storeOutageGrace: seconds(0, 86_400).default(900),
    realm: z.string().regex(/^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/, 'printable, no quote or backslash').default('d1-authz'),
    metrics: bool.default(true),
    /** Max token request body in bytes. */
    bodyLimit: z.coerce.number().int().min(256).max(65_536).default(4096),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.tokenTtl > c.maxTokenTtl) {
      ctx.addIssue({ code: 'custom', path: ['tokenTtl'], message: `must not exceed maxTokenTtl (${c.maxTokenTtl})` });
    }
  });

export type Config = z.infer<typeof configSchema> & { readonly issuer: string };
export type ConfigInput = z.input<typeof configSchema>;
