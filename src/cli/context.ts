import { pino } from 'pino';
import { openServices, type Services } from '../app.js';
import { loadConfig } from '../config/load.js';
import { logSettingWarnings } from '../config/warnings.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { logDestination } from './log-stream.js';

export interface GlobalOptions {
  config?: string;
  databaseUrl?: string;
}

export function configFrom(globals: GlobalOptions, flags: Partial<ConfigInput> = {}): Config {
  return loadConfig({ databaseUrl: globals.databaseUrl, ...flags }, process.env, globals.config ?? process.env.D1AUTHZ_CONFIG);
}

/** Admin commands log warnings to stderr only (readable on a terminal), so stdout stays clean for --json. They use an existing store, never create one. */
export async function withServices<T>(globals: GlobalOptions, run: (services: Services) => Promise<T>): Promise<T> {
  const config = configFrom(globals);
  const logger = pino({ level: 'warn', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, logDestination(2));
  logSettingWarnings(config, logger);
  const services = await openServices(config, logger, { create: false });
  try {
    return await run(services);
  } finally {
    await services.close();
  }
}

