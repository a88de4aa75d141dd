#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { ClientAdminError } from '../domain/clients/client-service.js';
import { KeyAdminError } from '../domain/keys/key-service.js';
import { loadMasterKey, MasterKeyError } from '../domain/keys/local/master-key.js';
import { KeyProviderError } from '../domain/keys/signer.js';
import { sqlitePath } from '../store/sqlite-path.js';
import { clientCommands } from './client-commands.js';
import { gatewayCommand } from './gateway-command.js';
import { GatewayConfigError } from '../gateway/config.js';
import { withServices, type GlobalOptions } from './context.js';
import { adminTokenCommands } from './admin-token-commands.js';
import { AdminTokenError } from '../domain/admin/admin-tokens.js';
import { auditCommand } from './audit-command.js';
import { lockoutCommands } from './lockout-commands.js';
import { keyCommands, masterKeyCommands } from './key-commands.js';
import { serveCommand } from './serve-command.js';
import { migrateToLatest } from '../store/migrations.js';
import { openStore, StoreSetupError } from '../store/database.js';
import { configFrom } from './context.js';

const program = new Command('d1-authz')
  .description('OAuth 2.0 token server for the Thales D1 outbound API')
  .option('--config <file>', 'config file, JSON or YAML (D1AUTHZ_CONFIG)')
  .option('--database-url <url>', 'sqlite:PATH or postgres://... (D1AUTHZ_DATABASE_URL)')
  .showHelpAfterError();

const globals = () => program.opts<GlobalOptions>();

program.addCommand(serveCommand(globals));
program
  .command('migrate')
  .description('apply pending schema migrations')
  .action(async () => {
    const config = configFrom(globals());
    // The embedded store is its database and its master key: migrate makes both, like serve.
    if (config.keyProvider === 'local' && sqlitePath(config.databaseUrl) !== null) loadMasterKey(config, (msg) => process.stderr.write(`d1-authz: ${msg}\n`), { create: true });
    const store = openStore(config.databaseUrl);
    try {
      const applied = await migrateToLatest(store);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'schema is current\n');
    } finally {
      await store.close();
    }
  });
program.addCommand(clientCommands(globals));
program.addCommand(keyCommands(globals));
program.addCommand(adminTokenCommands(globals));
program.addCommand(lockoutCommands(globals));
program.addCommand(masterKeyCommands(globals));
program.addCommand(gatewayCommand(globals));
program.addCommand(auditCommand(globals));

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof MasterKeyError || err instanceof GatewayConfigError || err instanceof StoreSetupError) {
    process.stderr.write(`d1-authz: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ClientAdminError || err instanceof AdminTokenError || err instanceof KeyAdminError || err instanceof KeyProviderError) {
    process.stderr.write(`d1-authz: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`d1-authz: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

