/**
 * Clients as code: `client apply -f clients.yaml` makes the store match the file (create, update,
 * and with --prune delete), `client export` writes the file from the store. Changes are made one
 * client at a time, in file order, then the deletions; a failure stops there (exit 1) and the report
 * says what was done before it.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { Services } from '../app.js';
import type { Client } from '../model/client.js';
import { clientSettingsJson } from './client-json.js';
import { diffClient, exportClientsYaml, readClientsFile, settingsFromJson, type DesiredClient, type FieldChange } from './clients-file.js';
import { withServices, type GlobalOptions } from './context.js';
import { UsageError } from './exit-codes.js';
import { colors, emit, printJson, printLine, warn, type JsonFlag } from './output.js';

type Action = 'created' | 'updated' | 'unchanged' | 'deleted';

interface Change {
  client_id: string;
  action: Action;
  /** Keys that differ: from the store's value to the file's. */
  changes?: Record<string, FieldChange>;
  /** Only for a secret generated just now: shown this once. */
  client_secret?: string;
  /** Where a created client's secret came from. */
  secret_source?: 'generated' | 'file' | 'env' | 'none';
}

interface ApplyFlags extends JsonFlag {
  file: string;
  dryRun?: boolean;
  prune?: boolean;
  force?: boolean;
}

function secretOf(d: DesiredClient): { secret?: string; source: Change['secret_source'] } {
  if (d.secretFile) {
    try {
      return { secret: readFileSync(d.secretFile, 'utf8').replace(/\r?\n$/, ''), source: 'file' };
    } catch (err) {
      throw new UsageError(`${d.settings.client_id}: client_secret_file ${d.secretFile}: ${(err as Error).message}`);
    }
  }
  if (d.secretEnv) {
    const secret = process.env[d.secretEnv];
    if (secret === undefined || secret === '') throw new UsageError(`${d.settings.client_id}: client_secret_env ${d.secretEnv} is not set`);
    return { secret, source: 'env' };
  }
  return { source: 'generated' };
}

/** What would change, client by client (nothing is written). */
function plan(current: readonly Client[], desired: readonly DesiredClient[], prune: boolean): Change[] {
  const byId = new Map(current.map((c) => [c.clientId, c]));
  const changes: Change[] = desired.map((d) => {
    const now = byId.get(d.settings.client_id);
    if (!now) return { client_id: d.settings.client_id, action: 'created', changes: diffClient(blank(d.settings.client_id), d.settings) };
    const diff = diffClient(now, d.settings);
    return Object.keys(diff).length ? { client_id: d.settings.client_id, action: 'updated', changes: diff } : { client_id: d.settings.client_id, action: 'unchanged' };
  });
  if (prune) {
    const wanted = new Set(desired.map((d) => d.settings.client_id));
    for (const c of current) if (!wanted.has(c.clientId)) changes.push({ client_id: c.clientId, action: 'deleted' });
  }
  return changes;
}

/** A client with nothing set, to show a creation as a diff from nothing. */
const blank = (clientId: string): Client => ({
  clientId,
  name: '',
  allowedScopes: [],
  defaultScopes: [],
  grantTypes: [],
  audience: null,
  tokenTtl: null,
  enabled: false,
  createdAt: 0,
  updatedAt: 0,
});

async function execute(s: Services, step: Change, desired: DesiredClient | undefined, force: boolean): Promise<Change> {
  if (step.action === 'deleted') {
    await s.clients.delete(step.client_id);
    return step;
  }
  if (step.action === 'unchanged' || !desired) return step;
  const settings = settingsFromJson(desired.settings);
  const enabled = desired.settings.enabled;
  if (step.action === 'created') {
    const source = secretOf(desired);
    const { client, clientSecret } = await s.clients.create(step.client_id, settings, { secret: source.secret, force });
    if (!enabled) await s.clients.setEnabled(step.client_id, false);
    if (client.tokenEndpointAuthMethod === 'tls_client_auth') return { ...step, secret_source: 'none' };
    return { ...step, secret_source: source.source, ...(source.source === 'generated' ? { client_secret: clientSecret } : {}) };
  }
  await s.clients.update(step.client_id, settings);
  if (step.changes?.enabled) await s.clients.setEnabled(step.client_id, enabled);
  return step;
}

const show = (v: unknown) => (v === null || v === undefined ? '(default)' : Array.isArray(v) ? (v.length ? v.join(' ') : '(none)') : typeof v === 'string' ? v : JSON.stringify(v));

function printChanges(changes: readonly Change[], dryRun: boolean): void {
  const c = colors();
  const mark: Record<Action, string> = { created: c.green('+'), updated: c.yellow('~'), deleted: c.red('-'), unchanged: c.dim('=') };
  const verb: Record<Action, string> = dryRun
    ? { created: 'would create', updated: 'would update', deleted: 'would delete', unchanged: 'unchanged' }
    : { created: 'created', updated: 'updated', deleted: 'deleted', unchanged: 'unchanged' };
  for (const ch of changes) {
    printLine(`${mark[ch.action]} ${verb[ch.action]} ${ch.client_id}`);
    if (ch.action === 'updated') for (const [k, v] of Object.entries(ch.changes ?? {})) printLine(`    ${k}: ${show(v.from)} -> ${show(v.to)}`);
    if (ch.action === 'created' && dryRun) for (const [k, v] of Object.entries(ch.changes ?? {})) printLine(`    ${k}: ${show(v.to)}`);
    if (ch.client_secret) printLine(`    client_secret: ${ch.client_secret}   (shown only this once: store it now)`);
  }
  const count = (a: Action) => changes.filter((x) => x.action === a).length;
  printLine(
    `${dryRun ? 'dry run, nothing written: ' : ''}${count('created')} created, ${count('updated')} updated, ${count('deleted')} deleted, ${count('unchanged')} unchanged`,
  );
}

export function clientApplyCommands(client: Command, globals: () => GlobalOptions): void {
  client
    .command('apply')
    .description('create or update clients to match a clients file (YAML or JSON); --prune deletes the clients it does not list')
    .requiredOption('-f, --file <path>', 'the clients file: a top-level "clients:" list, keys as in "client show --json"')
    .option('--dry-run', 'show what would change, write nothing')
    .option('--prune', 'delete clients that the file does not list (their tokens are revoked)')
    .option('--force', 'accept imported secrets (client_secret_file / client_secret_env) shorter than 32 characters')
    .option('--json', 'print {"dry_run", "changes": [{"client_id","action","changes","client_secret"}]}; client_secret only for a secret generated now')
    .action(async (o: ApplyFlags) => {
      const desired = readClientsFile(o.file, warn);
      await withServices(globals(), async (s) => {
        const steps = plan(await s.clients.list(), desired, !!o.prune);
        if (!o.dryRun) for (const d of desired) if (steps.some((st) => st.client_id === d.settings.client_id && st.action === 'created')) secretOf(d);
        const byId = new Map(desired.map((d) => [d.settings.client_id, d]));
        const done: Change[] = [];
        if (!o.dryRun) {
          try {
            for (const step of steps) done.push(await execute(s, step, byId.get(step.client_id), !!o.force));
          } catch (err) {
            if (done.length) {
              if (o.json) printJson({ dry_run: false, complete: false, changes: done });
              else printChanges(done, false);
            }
            throw err;
          }
        }
        const report = o.dryRun ? steps : done;
        emit(o, { dry_run: !!o.dryRun, complete: true, changes: report }, () => printChanges(report, !!o.dryRun));
      });
    });

  client
    .command('export')
    .description('print every client as a clients file that "client apply -f" accepts (no secrets)')
    .option('--json', 'print {"clients": [...]} with every key')
    .action(async (o: JsonFlag) =>
      withServices(globals(), async (s) => {
        const clients = await s.clients.list();
        emit(o, { clients: clients.map(clientSettingsJson) }, () => process.stdout.write(exportClientsYaml(clients)));
      }),
    );
}
