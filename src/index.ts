/**
 * d1-authz as a library (`import { createApp, loadConfig } from 'd1-authz'`): start the token server
 * inside another process, e.g. for an integration test of a resource server.
 *
 *   const app = await createApp(loadConfig({ databaseUrl: 'sqlite:./d1-authz.sqlite' }));
 *   const origin = await app.listen();
 *   ...
 *   await app.close();
 *
 * The guard is `d1-authz/guard` (the `@d1-authz/guard` package).
 */
export { createApp, openServices } from './app.js';
export type { App, Services } from './app.js';
export { ConfigError, loadConfig } from './config/load.js';
export type { Config, ConfigInput } from './config/schema.js';
export { ClientAdminError } from './domain/clients/client-service.js';
export type { ClientSettings, ClientView, SecretInput } from './domain/clients/client-service.js';
