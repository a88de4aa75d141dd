import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { ADMIN_ROLES, type AdminRole } from '../domain/admin/admin-tokens.js';
import { withServices, type GlobalOptions } from './context.js';
import { emit, printDone, printLine, printTable } from './output.js';

/** Who ran the CLI: the OS user, as an audit row's actor. */
export const cliActor = () => {
  try {
    return `os-user:${userInfo().username}`;
  } catch {
    return 'os-user:unknown';
  }
};

export function adminTokenCommands(globals: () => GlobalOptions): Command {
  const cmd = new Command('admin-token').description('manage the tokens of the admin API and console (viewer reads, admin changes)');
  cmd
    .command('create <name>')
    .description('create an admin token; it is printed once and only its hash is stored')
    .addOption(new Option('--role <role>', 'what the token may do').choices(ADMIN_ROLES).default('viewer'))
    .option('--json', 'JSON output: {"name", "role", "token"}')
    .action(async (name: string, o: { role: AdminRole; json?: boolean }) =>
      withServices(globals(), async (s) => {
        const { view, token } = await s.adminTokens.create(name, o.role, cliActor());
        emit(o, { name: view.name, role: view.role, token }, () => {
          printDone(`created admin token ${view.name} (${view.role}); it is shown once, store it now:`);
          printLine(token);
        });
      }),
    );
  cmd
    .command('list')
    .description('list admin tokens (never the tokens themselves)')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const list = await s.adminTokens.list();
        emit(o, list, () =>
          printTable(
            list,
            [
              ['NAME', (t) => t.name],
              ['ROLE', (t) => t.role],
              ['CREATED', (t) => t.created_at],
              ['LAST USED', (t) => t.last_used_at],
              ['REVOKED', (t) => t.revoked_at],
            ],
            'no admin tokens',
          ),
        );
      }),
    );
  cmd
    .command('revoke <name>')
    .description('revoke an admin token at once, on every node')
    .option('--json', 'JSON output')
    .action(async (name: string, o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        await s.adminTokens.revoke(name);
        emit(o, { name, revoked: true }, () => printDone(`revoked admin token ${name}`));
      }),
    );
  return cmd;
}
