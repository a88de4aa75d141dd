#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { ClientAdminError } from '../domain/clients/client-service.js';
import { MasterKeyError } from '../domain/keys/master-key.js';
import { clientCommands } from './client-commands.js';
import { gatewayCommand } from './gateway-command.js';
import { GatewayConfigError } from '../gateway/config.js';
import { withServices, type GlobalOptions } from './context.js';
import { keyCommands } from './key-commands.js';
import { serveCommand } from './serve-command.js';
import { migrateToLatest } from '../store/migrations.js';
import { openStore } from '../store/database.js';
import { configFrom } from './context.js';
import { packageVersion } from './version.js';

const program = new Command('d1-authz')
  .description('OAuth 2.0 token server for the Thales D1 outbound API')
  .version(packageVersion(), '-V, --version', 'print the version (semver) and exit')
  .option('--config <file>', 'config file, JSON or YAML (D1AUTHZ_CONFIG)')
  .option('--database-url <url>', 'sqlite:PATH or postgres://... (D1AUTHZ_DATABASE_URL)')
  .showHelpAfterError();

const globals = () => program.opts<GlobalOptions>();

program.addCommand(serveCommand(globals));
program
  .command('migrate')
  .description('apply pending schema migrations')
  .action(async () => {
    const store = openStore(configFrom(globals()).databaseUrl);
    try {
      const applied = await migrateToLatest(store);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is current\n');
    } finally {
      await store.close();
    }
  });
program.addCommand(clientCommands(globals));
program.addCommand(keyCommands(globals));
program.addCommand(gatewayCommand(globals));

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof MasterKeyError || err instanceof GatewayConfigError) {
    process.stderr.write(`d1-authz: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ClientAdminError) {
    process.stderr.write(`d1-authz: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`d1-authz: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

