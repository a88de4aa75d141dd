// Constants and tiny helpers shared by the benchmark driver and the baseline servers.
// Kept dependency-free (node: only) so the baselines measure what they claim to measure.

export const TOKEN_PATH = '/authz/d1/v1/oauth2/token';
export const JWKS_PATH = '/authz/d1/v1/.well-known/jwks.json';
export const HEALTH_PATH = '/healthz';

/** Lifetime of issued tokens, seconds (D1 answers expires_in as the string "900"). */
export const TOKEN_TTL_S = 900;

/** Scopes granted to the bench client; the first is the default scope. */
export const BENCH_SCOPES = ['a', 'b'] as const;
/** Scope requested in every benchmark request. */
export const BENCH_REQUEST_SCOPE = 'a';
/** Audience / resource indicator used by the baselines. */
export const BENCH_AUDIENCE = 'https://d1.bench.invalid';

export function requireEnv(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(`missing environment variable ${name}`);
  }
  return v;
}

export function portFromEnv(): number {
  const port = Number.parseInt(requireEnv('PORT'), 10);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`invalid PORT ${process.env['PORT'] ?? ''}`);
  }
  return port;
}

export function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
