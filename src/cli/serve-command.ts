import { Command } from 'commander';
import { createApp } from '../app.js';
import type { ConfigInput } from '../config/schema.js';
import { configFrom, type GlobalOptions } from './context.js';

export function serveCommand(globals: () => GlobalOptions): Command {
  return new Command('serve')
    .description('serve the token endpoint, JWKS, metadata, health and metrics')
    .option('--host <host>', 'listen address (D1AUTHZ_HOST)')
    .option('--port <port>', 'listen port (D1AUTHZ_PORT)')
    .option('--issuer <url>', 'iss of the tokens (D1AUTHZ_ISSUER)')
    .option('--base-path <path>', 'path prefix (D1AUTHZ_BASE_PATH)')
    .option('--log-level <level>', 'D1AUTHZ_LOG_LEVEL')
    .action(async (o: Partial<ConfigInput>) => {
      const config = configFrom(globals(), o);
      const app = await createApp(config);
      const origin = await app.listen();
      app.logger.info({ origin, issuer: config.issuer }, 'd1-authz listening');
      if ((await app.clients.list()).length === 0) {
        process.stderr.write(
          `d1-authz is serving on ${origin}${config.basePath}/oauth2/token but has no client yet. Create one:\n` +
            `  npx d1-authz client create is_tbank01 --scopes "consumer otp"\n`,
        );
      }
      let closing = false;
      const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        app.logger.info({ signal }, 'draining in-flight requests, then exiting');
        app.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}
