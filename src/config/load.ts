import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config, type ConfigInput } from './schema.js';
import { closest, ENV_PREFIX, envName, OTHER_ENV_NAMES, TEST_ENV_PREFIX } from './setting-names.js';
import { D1AuthzError } from '../errors/d1authz-error.js';

export { envName } from './setting-names.js';

export class ConfigError extends D1AuthzError {
  override readonly name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', message, options);
  }
}

const KEYS = Object.keys(configSchema.shape) as (keyof ConfigInput)[];
const SETTING_ENV_NAMES = KEYS.map(envName);
const KNOWN_ENV_NAMES = new Set([...SETTING_ENV_NAMES, ...OTHER_ENV_NAMES]);

/** What is wrong with the D1AUTHZ_* variables beyond their values: unknown names, empty values. */
interface EnvProblems {
  readonly unknown: string[];
  readonly empty: string[];
}

function fromEnv(env: NodeJS.ProcessEnv): { values: Partial<Record<keyof ConfigInput, string>>; problems: EnvProblems } {
  const values: Partial<Record<keyof ConfigInput, string>> = {};
  for (const key of KEYS) {
    const value = env[envName(key)];
    if (value !== undefined) values[key] = value;
  }
  const problems: EnvProblems = { unknown: [], empty: [] };
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name.startsWith(TEST_ENV_PREFIX)) continue;
    if (!KNOWN_ENV_NAMES.has(name)) {
      problems.unknown.push(`${name} (did you mean ${closest(name, SETTING_ENV_NAMES)}?)`);
    } else if (value !== undefined && value.trim() === '' && name !== 'D1AUTHZ_GATEWAY_CLIENT_SECRET') {
      // An empty D1AUTHZ_TLS_CLIENT_CA used to mean "unset", i.e. mutual TLS off: a setting is set or it is not.
      problems.empty.push(name);
    }
  }
  return { values, problems };
}

/** The file's keys that are no setting, each with the closest one. */
function unknownFileKeys(file: Record<string, unknown>): string[] {
  return Object.keys(file)
    .filter((k) => !(KEYS as string[]).includes(k))
    .map((k) => `${k} (did you mean ${closest(k, KEYS)}?)`);
}

function fromFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // A syntax error is a configuration error like any other: exit 2, naming the file.
    throw new ConfigError(`config file ${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: must hold an object`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Defaults < config file (D1AUTHZ_CONFIG or --config) < environment < flags.
 * Invalid settings stop start-up with a message naming each setting by its env name.
 */
export function loadConfig(
  flags: Partial<ConfigInput> = {},
  env: NodeJS.ProcessEnv = process.env,
  configFile: string | undefined = env.D1AUTHZ_CONFIG,
): Config {
  const definedFlags = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const file = configFile ? fromFile(configFile) : {};
  const fileUnknown = unknownFileKeys(file);
  const known = Object.fromEntries(Object.entries(file).filter(([k]) => (KEYS as string[]).includes(k)));
  const { values, problems } = fromEnv(env);
  const merged = { ...known, ...values, ...definedFlags };
  const lines: string[] = [];
  if (env.D1AUTHZ_CONFIG !== undefined && env.D1AUTHZ_CONFIG.trim() === '') problems.empty.push('D1AUTHZ_CONFIG');
  for (const name of new Set(problems.empty)) lines.push(`  ${name}: empty; unset the variable to get the default, or give it a value`);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.length ? String(issue.path[0]) : '';
      const name = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : key ? `${envName(key)} (${key})` : 'config';
      lines.push(`  ${name}: ${issue.message}`);
    }
  }
  const unknownSettings = [...problems.unknown, ...fileUnknown.map((k) => `${k} in ${configFile}`)];
  if (unknownSettings.length && !(result.success && result.data.allowUnknownSettings)) {
    for (const u of unknownSettings) lines.push(`  ${u}: unknown setting (D1AUTHZ_ALLOW_UNKNOWN_SETTINGS=true makes this a warning)`);
  }
  if (lines.length || !result.success) throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  const c = result.data;
  const scheme = c.tlsCert ? 'https' : 'http';
  const hostForUrl = c.host.includes(':') ? `[${c.host}]` : c.host;
  return { ...c, issuer: c.issuer ?? `${scheme}://${hostForUrl}:${c.port}${c.basePath}`, unknownSettings };
}
