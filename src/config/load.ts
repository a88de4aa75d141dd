import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config, type ConfigInput } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const KEYS = Object.keys(configSchema.shape) as (keyof ConfigInput)[];

export const envName = (key: string) => 'D1AUTHZ_' + key.replace(/([A-Z])/g, '_$1').toUpperCase();

function fromEnv(env: NodeJS.ProcessEnv): Partial<Record<keyof ConfigInput, string>> {
  const out: Partial<Record<keyof ConfigInput, string>> = {};
  for (const key of KEYS) {
    const value = env[envName(key)];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
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
  const merged = { ...(configFile ? fromFile(configFile) : {}), ...fromEnv(env), ...definedFlags };
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.length ? String(issue.path[0]) : '';
      const name = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : key ? `${envName(key)} (${key})` : 'config';
      return `  ${name}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = result.data;
  const scheme = c.tlsCert ? 'https' : 'http';
  const hostForUrl = c.host.includes(':') ? `[${c.host}]` : c.host;
  return { ...c, issuer: c.issuer ?? `${scheme}://${hostForUrl}:${c.port}${c.basePath}` };
}
