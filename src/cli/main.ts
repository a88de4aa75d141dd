#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { D1AuthzError } from '../errors/d1authz-error.js';
import { loadMasterKey } from '../domain/keys/local/master-key.js';
import { sqlitePath } from '../store/sqlite-path.js';
import { clientCommands } from './client-commands.js';
import { gatewayCommand } from './gateway-command.js';
import { type GlobalOptions } from './context.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { errorEntry } from '../errors/error-table.js';
import { emit, printDone, type JsonFlag } from './output.js';
import { adminTokenCommands } from './admin-token-commands.js';
import { auditCommand } from './audit-command.js';
import { lockoutCommands } from './lockout-commands.js';
import { keyCommands, masterKeyCommands } from './key-commands.js';
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
  .addHelpText('after', '\nExit codes: 0 done, 1 the operation failed, 2 bad usage or configuration.\nEvery command takes --json (snake_case keys, ISO-8601 times).')
  .showHelpAfterError();

const globals = () => program.opts<GlobalOptions>();

program.addCommand(serveCommand(globals));
program
  .command('migrate')
  .description('apply pending schema migrations (PostgreSQL: once per release, before the nodes start)')
  .option('--json', 'print {"applied": [...]}')
  .action(async (o: JsonFlag) => {
    const config = configFrom(globals());
    // The embedded store is its database and its master key: migrate makes both, like serve.
    if (config.keyProvider === 'local' && sqlitePath(config.databaseUrl) !== null) loadMasterKey(config, (msg) => process.stderr.write(`d1-authz: ${msg}\n`), { create: true });
    const store = openStore(config.databaseUrl);
    try {
      const applied = await migrateToLatest(store);
      emit(o, { applied }, () => printDone(applied.length ? `applied migrations: ${applied.join(', ')}` : 'the schema is current: nothing to apply'));
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

/** Commander exits by itself on a usage error (with 1); every command throws instead, and the code is decided below. */
function throwInsteadOfExit(cmd: Command): void {
  cmd.exitOverride().showHelpAfterError('(add --help for usage; an id that begins with "-" goes after --, as in: client show -- -my-id)');
  for (const sub of cmd.commands) throwInsteadOfExit(sub);
}
throwInsteadOfExit(program);

function exitCode(err: unknown): number {
  if (err instanceof CommanderError) {
    // --help, --version, and a bare command group's help: not failures.
    return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
  }
  // The error table gives each error's exit code; anything else is a failed operation.
  return err instanceof D1AuthzError ? (errorEntry(err.errorCode)?.exit ?? EXIT_FAILED) : EXIT_FAILED;
}

program.parseAsync().catch((err: unknown) => {
  const code = exitCode(err);
  // Commander has printed its own message (and the help) already.
  if (!(err instanceof CommanderError)) process.stderr.write(`d1-authz: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(code);
});
