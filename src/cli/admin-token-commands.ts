import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { ADMIN_ROLES, type AdminRole } from '../domain/admin/admin-tokens.js';
import { print, withServices, type GlobalOptions } from './context.js';

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
        print(!!o.json, { name: view.name, role: view.role, token }, () => `admin token ${view.name} (${view.role}); shown once, store it now:\n${token}`);
      }),
    );
  cmd
    .command('list')
    .description('list admin tokens (never the tokens themselves)')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const list = await s.adminTokens.list();
        print(!!o.json, list, () =>
          list.length === 0
            ? 'no admin tokens'
            : ['NAME\tROLE\tCREATED\tLAST USED\tREVOKED', ...list.map((t) => `${t.name}\t${t.role}\t${t.created_at}\t${t.last_used_at ?? '-'}\t${t.revoked_at ?? '-'}`)].join('\n'),
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
        print(!!o.json, { name, revoked: true }, () => `admin token ${name} revoked`);
      }),
    );
  return cmd;
}
