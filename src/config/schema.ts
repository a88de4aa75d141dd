import { z } from 'zod';
import { cidrListInput, isLoopbackHost, parseCidr } from '../tls/addresses.js';
import { AUDIT_RETENTION_FLOOR_DAYS } from '../store/migrations.js';
import { cipherListProblem, INTERMEDIATE_CIPHERS } from '../tls/cipher-profile.js';
import { DEFAULT_TICKET_KEY_ROTATION_S } from '../tls/ticket-keys.js';
import { KEY_PROVIDERS, SIGNING_ALGORITHMS, type KeyProviderName, type SigningAlgorithm } from '../model/signing.js';

const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const TRUE_WORDS = ['true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];
/**
 * A boolean setting takes only these words (trimmed, any case). Anything else is an error, never
 * a guess: a "nope" or "disabled" read as true would switch on what the operator meant to switch off.
 */
const bool = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const word = v.trim().toLowerCase();
    return TRUE_WORDS.includes(word) ? true : FALSE_WORDS.includes(word) ? false : v;
  },
  z.boolean({ error: `must be one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}` }),
);

/** Trusted-proxy ranges wider than these prefixes are logged loudly at start (config/warnings.ts). */
export const WIDE_PROXY_PREFIX = { ipv4: 24, ipv6: 64 } as const;

export const EXPIRES_IN_FORMATS = ['string', 'number'] as const;


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
    /** The token response's expires_in: the contract's JSON string, or RFC 6749's number. A client may be set otherwise. */
    expiresInFormat: z.enum(EXPIRES_IN_FORMATS).default('string'),
    /** Whether the token response carries the contract's expires_at (ISO-8601); some RFC 6749 clients refuse it. A client may be set otherwise. */
    expiresAt: bool.default(true),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** 32 bytes, base64 or hex. */
    masterKey: z.string().min(1).optional(),
    masterKeyFile: z.string().min(1).optional(),
    /** The master key being replaced (docs/hsm.md, master-key rotation): opens keys sealed under it until `master-key rotate`. */
    masterKeyPreviousFile: z.string().min(1).optional(),
    /** Who holds the signing keys: `local` (sealed under the master key, in the store) or `pkcs11` (an HSM; docs/hsm.md). */
    keyProvider: z.enum(KEY_PROVIDERS).default('local'),
    pkcs11Module: z.string().min(1).optional(),
    /** The token (partition) by label, as `softhsm2-util --show-slots` or the vendor's tool shows it. */
    pkcs11TokenLabel: z.string().min(1).max(32).optional(),
    pkcs11Slot: z.coerce.number().int().min(0).max(2 ** 32 - 1).optional(),
    pkcs11Pin: z.string().min(1).optional(),
    pkcs11PinFile: z.string().min(1).optional(),
    signingAlg: z.enum(SIGNING_ALGORITHMS).default('ES256'),
    /** How long a new key is published before it signs (covers JWKS caches and the other nodes). */
    keyActivationDelay: seconds(0, 7 * 86_400).default(120),
    /** Clock skew allowed between nodes and verifiers (s): a rotated-out key stays published this much longer. */
    clockSkew: seconds(0, 600).default(60),
    /** Max-age the JWKS is served with. */
    jwksMaxAge: seconds(0, 86_400).default(60),
    /** Lifetime of an entry in the verified-credential cache (skips the slow hash on repeat requests). */
    credentialCacheTtl: seconds(0, 3600).default(300),
    /** Each use extends a cached verification by credentialCacheTtl, but never beyond this long after the slow hash ran (s). */
    credentialCacheMaxAge: seconds(0, 86_400).default(3600),
    /** Brute-force lockout of source addresses (docs in README "Brute-force lockout"); false turns it off. */
    lockout: bool.default(true),
    /** Failed client authentications within lockoutWindow that lock an address (or a client id from that address). */
    lockoutThreshold: z.coerce.number().int().min(1).max(10_000).default(10),
    /** The window failures are counted in, and the quiet time after a lock that forgives it (s). */
    lockoutWindow: seconds(1, 86_400).default(300),
    /** The longest a lock lasts, however long the failures go on (s). */
    lockoutMax: seconds(1, 86_400).default(3600),
    /** Lockout counters in Redis instead of the store (redis:// or rediss://). */
    redisUrl: z.string().regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL').optional(),
    /** How often a node polls the store for changes made by the CLI or other nodes (ms). */
    syncIntervalMs: z.coerce.number().int().min(50).max(60_000).default(1000),
    /** log2 of the scrypt cost N for new secrets. 15 = 32 MiB, ~100 ms. */
    scryptCost: z.coerce.number().int().min(14).max(20).default(15),
    /** At most this many slow hash verifications pending at once; beyond that 503 (a flood of bad secrets must not exhaust the node). */
    maxPendingHashes: z.coerce.number().int().min(1).max(10_000).default(64),
    /**
     * Slow hashes running at once on libuv's thread pool, where tokens are signed too; the rest wait.
     * Unset: the pool's size minus one (config/thread-pool.ts), so signing never queues behind a flood
     * of bad secrets. Raise it with UV_THREADPOOL_SIZE on a single process with many cores.
     */
    hashConcurrency: z.coerce.number().int().min(1).max(1024).optional(),
    /** Safety net on top of change propagation: a cached client record is re-read after this long (s). */
    clientCacheTtl: seconds(1, 3600).default(60),
    /** While the store is unreachable, clients already known to this node keep getting tokens for this long (s). */
    storeOutageGrace: seconds(0, 86_400).default(900),
    /** `serve` processes sharing the port (node:cluster); unset: 1 on up to 2 CPUs, else one per CPU; 1: a single process, no cluster. */
    workers: z.coerce.number().int().min(1).max(256).optional(),
    /** PostgreSQL connections per process (per worker); a node opens up to workers x this many. */
    databasePoolSize: z.coerce.number().int().min(1).max(100).default(10),
    /** The admin and management listener (health, metrics, admin API, console); 0 turns it off. */
    adminPort: z.coerce.number().int().min(0).max(65535).default(9090),
    /** Off loopback only with TLS (the D1AUTHZ_TLS_CERT/KEY certificate): the admin API holds the keys to every client. */
    adminHost: z.string().min(1).default('127.0.0.1'),
    /** Also serve /metrics on the public token listener (by default only the admin listener serves it). */
    publicMetrics: bool.default(false),
    realm: z.string().regex(/^[\x20\x21\x23-\x5B\x5D-\x7E]{1,64}$/, 'printable, no quote or backslash').default('d1-authz'),
    metrics: bool.default(true),
    /**
     * The audit trail of requests (token.issued, client.authentication_failed, client.locked_out): on by
     * default. Admin changes are audited whatever this says (in the transaction of the change).
     */
    audit: bool.default(true),
    /** Write each token's audit row before the token is sent (no unaudited token even after kill -9), at a cost per token. */
    auditSync: bool.default(false),
    /** Audit rows older than this are pruned by the server (days; PCI DSS 10.5.1 asks for one year). */
    auditRetentionDays: z.coerce.number().int().min(AUDIT_RETENTION_FLOOR_DAYS).max(3650).default(400),
    /** Max token request body in bytes. */
    bodyLimit: z.coerce.number().int().min(256).max(65_536).default(4096),
    // TLS (docs/tls.md). PEM file paths; reloaded on SIGHUP and on change.
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    /** CA bundle for client certificates: when set, every connection must present one chained to it (mTLS). */
    tlsClientCa: z.string().min(1).optional(),
    /** OpenSSL cipher list (TLS 1.2 names and TLS 1.3 TLS_* names) for every TLS listener. */
    tlsCiphers: z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        const problem = cipherListProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(INTERMEDIATE_CIPHERS),
    /** Seconds between new TLS session ticket keys (src/tls/ticket-keys.ts): one per node, shared by its workers. */
    tlsTicketKeyRotation: seconds(1, 86_400).default(DEFAULT_TICKET_KEY_ROTATION_S),
    /** Serve plain HTTP on a non-loopback address (behind a TLS-terminating proxy). Logged loudly. */
    allowInsecureHttp: bool.default(false),
    /** Peers (CIDR list) whose client-certificate headers are believed (a TLS-terminating proxy). */
    trustedProxies: z.preprocess(
      cidrListInput,
      z.array(z.string().refine((c) => parseCidr(c) !== undefined, 'must be addresses or CIDRs, e.g. 10.0.0.0/8, ::1')).max(64),
    ).default([]),
    /** Accept 0.0.0.0/0 or ::/0 in trustedProxies: every peer may then assert a client certificate. */
    trustAnyProxy: bool.default(false),
    /** An unknown D1AUTHZ_* variable or config-file key is logged as a warning instead of stopping start-up. */
    allowUnknownSettings: bool.default(false),
    // Load shedding and connection caps (docs/operations.md, "Limits").
    /**
     * Requests in progress per process; past it, 503 at once (health and metrics excepted). By Little's law the
     * queue it allows costs at most maxInFlight / throughput: 128 at the ~18,000 tokens/s one process serves is 7 ms.
     */
    maxInFlight: z.coerce.number().int().min(1).max(100_000).default(128),
    /** Client connections per process; near it the oldest idle ones are closed. Sized for a 1,024-descriptor ulimit. */
    maxConnections: z.coerce.number().int().min(1).max(1_000_000).default(768),
    /** Client connections per source address (behind a load balancer: its address; raise it to maxConnections). */
    maxConnectionsPerAddress: z.coerce.number().int().min(1).max(1_000_000).default(256),
    /** The one header a trusted proxy forwards the client certificate in: URL-encoded PEM (nginx $ssl_client_escaped_cert), or Envoy's XFCC when x-forwarded-client-cert. */
    clientCertHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name')
      .transform((h) => h.toLowerCase())
      .default('x-ssl-client-cert'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.tokenTtl > c.maxTokenTtl) {
      ctx.addIssue({ code: 'custom', path: ['tokenTtl'], message: `must not exceed maxTokenTtl (${c.maxTokenTtl})` });
    }
    // A new key must be in every node's JWKS (one sync interval) and in every verifier's cached
    // copy of it (one JWKS max-age) before any node signs with it: docs/operations.md.
    const minActivationMs = minKeyActivationDelayMs(c);
    if (c.keyActivationDelay * 1000 <= minActivationMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['keyActivationDelay'],
        message:
          `must exceed D1AUTHZ_SYNC_INTERVAL_MS + D1AUTHZ_JWKS_MAX_AGE (${minActivationMs / 1000} s), ` +
          'so a new key reaches every node and every JWKS cache before any node signs with it',
      });
    }
    if (c.auditSync && !c.audit) {
      ctx.addIssue({ code: 'custom', path: ['auditSync'], message: 'needs the audit trail (D1AUTHZ_AUDIT is false)' });
    }
    if (c.credentialCacheMaxAge < c.credentialCacheTtl) {
      ctx.addIssue({ code: 'custom', path: ['credentialCacheMaxAge'], message: `must not be below credentialCacheTtl (${c.credentialCacheTtl})` });
    }
    checkKeyProvider(c, ctx);
    if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: [c.tlsCert ? 'tlsKey' : 'tlsCert'], message: 'D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY go together' });
    }
    if (c.tlsClientCa !== undefined && c.tlsCert === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tlsClientCa'], message: 'needs D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY (mTLS is TLS first)' });
    }
    if (c.maxConnectionsPerAddress > c.maxConnections) {
      ctx.addIssue({ code: 'custom', path: ['maxConnectionsPerAddress'], message: `must not exceed maxConnections (${c.maxConnections})` });
    }
    if (c.adminPort !== 0 && c.tlsCert === undefined && !isLoopbackHost(c.adminHost)) {
      ctx.addIssue({
        code: 'custom',
        path: ['adminHost'],
        message:
          `the admin listener is refused on the non-loopback address ${c.adminHost} without TLS: set D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY, ` +
          'or keep it on 127.0.0.1 and reach it through an SSH tunnel (D1AUTHZ_ALLOW_INSECURE_HTTP does not apply to it)',
      });
    }
    if (c.adminPort !== 0 && c.adminPort === c.port && c.port !== 0) {
      ctx.addIssue({ code: 'custom', path: ['adminPort'], message: `must differ from D1AUTHZ_PORT (${c.port})` });
    }
    const everyone = c.trustedProxies.filter((t) => parseCidr(t)?.prefix === 0);
    if (everyone.length && !c.trustAnyProxy) {
      ctx.addIssue({
        code: 'custom',
        path: ['trustedProxies'],
        message:
          `${everyone.join(', ')} trusts every peer: anyone could then send a forged client-certificate header and get a ` +
          "tls_client_auth client's token. List the proxies' own addresses (or set D1AUTHZ_TRUST_ANY_PROXY=true when a network " +
          'policy lets only the proxy reach this port)',
      });
    }
    if (c.tlsCert === undefined && !c.allowInsecureHttp && !isLoopbackHost(c.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['host'],
        message:
          `plain HTTP is refused on the non-loopback address ${c.host}: set D1AUTHZ_TLS_CERT and D1AUTHZ_TLS_KEY, ` +
          'or D1AUTHZ_ALLOW_INSECURE_HTTP=true when a TLS-terminating proxy is in front (or listen on 127.0.0.1)',
      });
    }
  });

type KeyProviderFields = {
  keyProvider: KeyProviderName;
  signingAlg: SigningAlgorithm;
  pkcs11Module?: string | undefined;
  pkcs11TokenLabel?: string | undefined;
  pkcs11Slot?: number | undefined;
  pkcs11Pin?: string | undefined;
  pkcs11PinFile?: string | undefined;
};

/** The pkcs11 settings go together, and only with the pkcs11 provider: a half-configured HSM never falls back to local keys. */
function checkKeyProvider(c: KeyProviderFields, ctx: z.RefinementCtx): void {
  const pkcs11Keys = ['pkcs11Module', 'pkcs11TokenLabel', 'pkcs11Slot', 'pkcs11Pin', 'pkcs11PinFile'] as const;
  if (c.keyProvider !== 'pkcs11') {
    for (const key of pkcs11Keys) {
      if (c[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'is set but D1AUTHZ_KEY_PROVIDER is not pkcs11' });
    }
    return;
  }
  if (c.pkcs11Module === undefined) ctx.addIssue({ code: 'custom', path: ['pkcs11Module'], message: 'the pkcs11 provider needs the path of the PKCS#11 module' });
  if ((c.pkcs11TokenLabel === undefined) === (c.pkcs11Slot === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['pkcs11TokenLabel'], message: 'set exactly one of D1AUTHZ_PKCS11_TOKEN_LABEL and D1AUTHZ_PKCS11_SLOT' });
  }
  if ((c.pkcs11Pin === undefined) === (c.pkcs11PinFile === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['pkcs11Pin'], message: 'set exactly one of D1AUTHZ_PKCS11_PIN and D1AUTHZ_PKCS11_PIN_FILE' });
  }
  if (c.signingAlg === 'EdDSA') ctx.addIssue({ code: 'custom', path: ['signingAlg'], message: 'the pkcs11 provider signs ES256, RS256 or PS256' });
}

/** keyActivationDelay (s) must be above this (ms): the time a new key needs to be in every node's and every verifier's JWKS. */
export function minKeyActivationDelayMs(c: { readonly syncIntervalMs: number; readonly jwksMaxAge: number }): number {
  return c.syncIntervalMs + c.jwksMaxAge * 1000;
}

export type Config = z.infer<typeof configSchema> & {
  readonly issuer: string;
  /** Unknown D1AUTHZ_* variables and config-file keys let through by allowUnknownSettings (logged at start). */
  readonly unknownSettings?: readonly string[];
};
export type ConfigInput = z.input<typeof configSchema>;
