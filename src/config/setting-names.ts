/**
 * Which D1AUTHZ_* names exist. A setting's env name is D1AUTHZ_ + its key in SCREAMING_SNAKE_CASE;
 * a few variables are read that are not settings of the schema. Anything else under the prefix is
 * a typing error (D1AUTHZ_TOKNE_TTL) that would otherwise be ignored silently.
 */
export const ENV_PREFIX = 'D1AUTHZ_';

export const envName = (key: string) => ENV_PREFIX + key.replace(/([A-Z])/g, '_$1').toUpperCase();

/** Read by the code but not schema settings: the config file path, the gateway's revocation secret. */
export const OTHER_ENV_NAMES: readonly string[] = ['D1AUTHZ_CONFIG', 'D1AUTHZ_GATEWAY_CLIENT_SECRET'];

/** Reserved for the test suite (store choice, PostgreSQL URL): never a setting. */
export const TEST_ENV_PREFIX = 'D1AUTHZ_TEST_';

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** The known name closest to `name`. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name.toUpperCase(), candidate.toUpperCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}
