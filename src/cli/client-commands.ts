import { Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from '../model/client.js';
import type { ClientSettings } from '../domain/clients/client-service.js';
import { clientApplyCommands } from './client-apply-commands.js';
import { clientJson, clientViewJson, onOff } from './client-json.js';
import { tlsRecord, tlsSettingsFrom, usesCertificateOnly, withTlsFlags, type TlsFlags } from './client-tls-flags.js';
import { withServices, type GlobalOptions } from './context.js';
import { emit, printDone, printLine, printRecord, printTable, warn, type Cell, type JsonFlag } from './output.js';

/** A scope list is space-delimited (RFC 6749 §3.3): "a,b" would silently be one scope named "a,b". */
export function warnIfCommaSeparated(label: string, scopes: readonly string[]): void {
  const joined = scopes.filter((s) => s.includes(','));
  if (joined.length) warn(`${label}: ${joined.map((s) => `"${s}"`).join(', ')} holds a comma; scopes are space-separated, so this is one scope (did you mean "${joined[0]!.split(',').filter(Boolean).join(' ')}"?)`);
}

const scopes = (label: string) => (v: string) => {
  const list = v.split(/\s+/).filter(Boolean);
  warnIfCommaSeparated(label, list);
  return list;
};
const integer = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
};
/** `default` puts the setting back to the server's (null in the store; commander turns a parsed null into '', hence the word). */
const orDefault = <T>(parse: (v: string) => T) => (v: string): T | 'default' => (v === 'default' ? 'default' : parse(v));
const resetDefault = <T>(v: T | 'default' | undefined): T | null | undefined => (v === 'default' ? null : v);

interface SettingsFlags extends TlsFlags {
  name?: string;
  scopes?: string[];
  defaultScopes?: string[];
  ttl?: number | 'default';
  audience?: string;
  tokens?: boolean;
  introspect?: boolean;
  expiresInFormat?: 'string' | 'number' | 'default';
  expiresAt?: 'on' | 'off' | 'default';
}

function withSettingsFlags(cmd: Command): Command {
  return withTlsFlags(cmd)
    .option('--name <name>', 'display name')
    .option('--scopes <scopes>', 'allowed scopes, space-separated ("consumer otp")', scopes('--scopes'))
    .option('--default-scopes <scopes>', 'scopes granted when the request names none, space-separated', scopes('--default-scopes'))
    .option('--ttl <seconds|default>', 'token lifetime for this client (capped by D1AUTHZ_MAX_TOKEN_TTL); default: D1AUTHZ_TOKEN_TTL', orDefault(integer))
    .option('--audience <aud|default>', 'aud claim for this client; default: D1AUTHZ_AUDIENCE', orDefault((v) => v))
    .addOption(new Option('--expires-in-format <format>', "expires_in in its token responses: the contract's string or RFC 6749's number; default: D1AUTHZ_EXPIRES_IN_FORMAT").choices(['string', 'number', 'default']))
    .addOption(new Option('--expires-at <on|off>', 'expires_at in its token responses; default: D1AUTHZ_EXPIRES_AT').choices(['on', 'off', 'default']));
}

const settingsFrom = (o: SettingsFlags): ClientSettings => ({
  name: o.name,
  scopes: o.scopes,
  defaultScopes: o.defaultScopes,
  ttl: resetDefault(o.ttl),
  audience: resetDefault(o.audience),
  tokens: o.tokens,
  introspect: o.introspect,
  expiresInFormat: o.expiresInFormat === 'default' ? null : o.expiresInFormat,
  expiresAt: o.expiresAt === undefined ? undefined : o.expiresAt === 'default' ? null : o.expiresAt === 'on',
  tls: tlsSettingsFrom(o),
});

const list = (v: readonly string[]) => v.join(' ') || '(none)';

export function clientRecord(c: Client): [string, Cell][] {
  return [
    ['client_id', c.clientId],
    ['name', c.name],
    ['enabled', c.enabled],
    ['scopes', list(c.allowedScopes)],
    ['default scopes', list(c.defaultScopes)],
    ['grant types', list(c.grantTypes)],
    ['audience', c.audience ?? '(server default)'],
    ['ttl', c.tokenTtl ?? '(server default)'],
    ['introspect', c.introspect === true],
    ['expires_in format', c.expiresInFormat ?? '(server default)'],
    ['expires_at', onOff(c.expiresAt) ?? '(server default)'],
    ...tlsRecord(c),
  ];
}

const SECRET_ONCE = 'The secret is shown only this once: store it now.';

export function clientCommands(globals: () => GlobalOptions): Command {
  const client = new Command('client').description('manage OAuth clients (D1 is one)');

  withSettingsFlags(client.command('create <client_id>').description('register a client; its secret is printed once'))
    .option('--secret <secret>', 'import this secret instead of generating one (D1 onboarding may dictate it)')
    .option('--force', 'accept an imported secret shorter than 32 characters')
    .option('--no-tokens', 'the client may not obtain tokens (e.g. a resource server that only introspects)')
    .option('--introspect', 'the client may introspect tokens and read the revocation feed (a resource server)')
    .option('--no-introspect', 'the client may not introspect tokens (the default)')
    .option('--json', 'print the client as JSON, with client_secret (none for tls_client_auth)')
    .action(async (clientId: string, o: SettingsFlags & JsonFlag & { secret?: string; force?: boolean }) =>
      withServices(globals(), async (s) => {
        const { client: c, clientSecret } = await s.clients.create(clientId, settingsFrom(o), { secret: o.secret, force: o.force });
        const certificateOnly = usesCertificateOnly(c);
        emit(o, certificateOnly ? clientJson(c) : { ...clientJson(c), client_secret: clientSecret }, () => {
          printRecord(certificateOnly ? clientRecord(c) : [...clientRecord(c), ['client_secret', clientSecret]]);
          printLine('');
          printDone(`created client ${c.clientId}`);
          printLine(certificateOnly ? 'No secret: this client authenticates with its certificate (RFC 8705 tls_client_auth).' : SECRET_ONCE);
        });
      }),
    );

  client
    .command('list')
    .description('list the clients: id, state, scopes, authentication')
    .option('--json', 'print a JSON array of clients')
    .action(async (o: JsonFlag) =>
      withServices(globals(), async (s) => {
        const clients = await s.clients.list();
        emit(o, clients.map(clientJson), () =>
          printTable(
            clients,
            [
              ['CLIENT_ID', (c) => c.clientId],
              ['NAME', (c) => (c.name === c.clientId ? '' : c.name)],
              ['STATE', (c) => (c.enabled ? 'enabled' : 'disabled')],
              ['SCOPES', (c) => c.allowedScopes.join(' ')],
              ['DEFAULT', (c) => c.defaultScopes.join(' ')],
              ['AUTH', (c) => c.tokenEndpointAuthMethod ?? 'client_secret_basic'],
              ['TTL', (c) => c.tokenTtl ?? 'default'],
            ],
            '(no clients: create one with "d1-authz client create ID" or "d1-authz client apply -f clients.yaml")',
          ),
        );
      }),
    );

  client
    .command('show <client_id>')
    .description("show one client's settings and when its secrets were made (never the secrets)")
    .option('--json', 'print the client as JSON')
    .action(async (clientId: string, o: JsonFlag) =>
      withServices(globals(), async (s) => {
        const view = await s.clients.show(clientId);
        emit(o, clientViewJson(view), () =>
          printRecord([
            ...clientRecord(view),
            ['secrets', view.secrets.map((x) => `created ${x.createdAt}${x.expiresAt ? `, expires ${x.expiresAt}` : ''}`).join('; ')],
          ]),
        );
      }),
    );

  withSettingsFlags(client.command('update <client_id>').description('change a client; omitted settings stay'))
    .option('--tokens', 'allow the client to obtain tokens')
    .option('--no-tokens', 'forbid the client to obtain tokens')
    .option('--introspect', 'allow the client to introspect tokens and read the revocation feed')
    .option('--no-introspect', 'forbid the client to introspect tokens')
    .option('--json', 'print the updated client as JSON')
    .action(async (clientId: string, o: SettingsFlags & JsonFlag) =>
      withServices(globals(), async (s) => {
        const updated = await s.clients.update(clientId, settingsFrom(o));
        emit(o, clientJson(updated), () => {
          printRecord(clientRecord(updated));
          printDone(`updated client ${clientId}`);
        });
      }),
    );

  for (const [name, enabled] of [['disable', false], ['enable', true]] as const) {
    client
      .command(`${name} <client_id>`)
      .description(
        enabled
          ? 'allow the client to obtain tokens again (tokens issued before stay revoked)'
          : 'refuse the client and revoke its outstanding tokens on every node (within the sync interval)',
      )
      .option('--json', 'print {"client_id","action","enabled"}')
      .action(async (clientId: string, o: JsonFlag) =>
        withServices(globals(), async (s) => {
          await s.clients.setEnabled(clientId, enabled);
          emit(o, { client_id: clientId, action: `${name}d`, enabled }, () =>
            printDone(enabled ? `enabled client ${clientId}: it may obtain tokens again` : `disabled client ${clientId}: it is refused and its tokens are revoked`),
          );
        }),
      );
  }

  client
    .command('delete <client_id>')
    .description('delete a client and its secrets; its outstanding tokens are revoked')
    .option('--json', 'print {"client_id","action"}')
    .action(async (clientId: string, o: JsonFlag) =>
      withServices(globals(), async (s) => {
        await s.clients.delete(clientId);
        emit(o, { client_id: clientId, action: 'deleted' }, () => printDone(`deleted client ${clientId}: its tokens are revoked`));
      }),
    );

  client
    .command('rotate-secret <client_id>')
    .description('issue a new secret; the old ones keep working for the grace period')
    .option('--grace <seconds>', 'how long the old secrets keep working', integer, 86_400)
    .option('--secret <secret>', 'import this secret instead of generating one')
    .option('--force', 'accept an imported secret shorter than 32 characters')
    .option('--json', 'print {"client_id","client_secret","old_secrets_expire_at"}')
    .action(async (clientId: string, o: JsonFlag & { grace: number; secret?: string; force?: boolean }) =>
      withServices(globals(), async (s) => {
        const r = await s.clients.rotateSecret(clientId, o.grace, { secret: o.secret, force: o.force });
        emit(o, { client_id: clientId, client_secret: r.clientSecret, old_secrets_expire_at: r.oldSecretsExpireAt }, () => {
          printRecord([
            ['client_secret', r.clientSecret],
            ['old secrets work until', r.oldSecretsExpireAt],
          ]);
          printLine('');
          printDone(`rotated the secret of client ${clientId}`);
          printLine(SECRET_ONCE);
        });
      }),
    );
  clientApplyCommands(client, globals);
  return client;
}
