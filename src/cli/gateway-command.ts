import { Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from '../app.js';
import { loadConfig } from '../config/load.js';
import { logSettingWarnings } from '../config/warnings.js';
import { createGateway } from '../gateway/gateway.js';
import { GatewayConfigError, loadGatewayConfig } from '../gateway/config.js';
import { gatewayTransport } from '../gateway/transport.js';
import { FIXED_CONNECTION_LIMITS } from '../transport/connection-limits.js';
import type { GlobalOptions } from './context.js';
import { logDestination } from './log-stream.js';

const integer = (min: number, max: number) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
  return Number(v);
};

interface GatewayFlags {
  upstream?: string;
  config?: string;
  routes?: string;
  host?: string;
  port?: number;
  issuer?: string;
  audience?: string;
  jwksUri?: string;
  timeout?: number;
  logLevel?: string;
  json?: boolean;
}

/**
 * `d1-authz gateway --upstream URL --config routes.yaml`. For this command --config names the routes
 * file (the program-wide --config is read as such: commander gives a repeated option name to the
 * program); the d1-authz server settings used for defaults come from D1AUTHZ_CONFIG and the env.
 */
export function gatewayCommand(globals: () => GlobalOptions): Command {
  return new Command('gateway')
    .description('put the guard in front of an existing backend: verify tokens and per-route scopes, then forward')
    .option('--upstream <url>', 'the backend origin, e.g. http://127.0.0.1:9000')
    .option('--config <file>', 'routes file, JSON or YAML (see docs/resource-side.md)')
    .option('--routes <file>', 'same as --config')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', integer(0, 65535), 8081)
    .option('--issuer <url>', 'expected iss (default: the d1-authz issuer of this environment)')
    .option('--audience <aud>', 'expected aud (default: D1AUTHZ_AUDIENCE)')
    .option('--jwks-uri <url>', 'JWKS URL (default: {issuer}/.well-known/jwks.json)')
    .option('--timeout <ms>', 'upstream timeout: for the response headers and between body chunks', integer(1, 600_000))
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .option('--json', 'log JSON lines even on a terminal (they are JSON whenever stdout is not one)')
    .action(async (o: GatewayFlags) => {
      const routesFile = o.routes ?? o.config ?? globals().config;
      if (!routesFile) throw new GatewayConfigError('no routes file: pass --config routes.yaml');
      const server = loadConfig({}, process.env, process.env.D1AUTHZ_CONFIG);
      const routesConfig = loadGatewayConfig(
        routesFile,
        { upstream: o.upstream, issuer: o.issuer, audience: o.audience, jwksUri: o.jwksUri, upstreamTimeoutMs: o.timeout, host: o.host, port: o.port },
        { issuer: server.issuer, audience: server.audience },
      );
      const connectionLimits = { ...FIXED_CONNECTION_LIMITS, maxConnections: server.maxConnections, maxConnectionsPerAddress: server.maxConnectionsPerAddress };
      const config = { ...routesConfig, connectionLimits };
      // TLS, mTLS, trusted proxies and the plain-HTTP rule come from the same D1AUTHZ_* settings as serve.
      const transport = gatewayTransport(server, config.host);
      const logger = createLogger({ logLevel: (o.logLevel ?? 'info') as 'info' }, logDestination(1, { json: o.json }));
      logSettingWarnings(server, logger);
      if (transport.insecure) {
        logger.warn({ host: config.host, setting: 'D1AUTHZ_ALLOW_INSECURE_HTTP' }, `INSECURE: the gateway serves plain HTTP on ${config.host}, a non-loopback address`);
      }
      const gateway = createGateway(config, logger, transport);
      const origin = await gateway.listen();
      logger.info({ origin, upstream: config.upstream, issuer: config.issuer, routes: config.routes.length }, 'd1-authz gateway listening');
      let closing = false;
      const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        logger.info({ signal }, 'draining in-flight requests, then exiting');
        gateway.close().then(
          () => {
            logger.flush();
            process.exit(0);
          },
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}
