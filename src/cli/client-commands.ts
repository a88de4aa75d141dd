import { Command, InvalidArgumentError, Option } from 'commander';
import type { Client } from '../domain/clients/client.js';
import type { ClientSettings } from '../domain/clients/client-service.js';
import { print, withServices, type GlobalOptions } from './context.js';
import { describeTls, tlsSettingsFrom, usesCertificateOnly, withTlsFlags, type TlsFlags } from './client-tls-flags.js';

const scopes = (v: string) => v.split(/\s+/).filter(Boolean);
const integer = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
};

interface SettingsFlags extends TlsFlags {
  name?: string;
  scopes?: string[];
  defaultScopes?: string[];
  ttl?: number;
  audience?: string;
  tokens?: boolean;
  introspect?: boolean;
  expiresInFormat?: 'string' | 'number' | 'default';
  expiresAt?: 'on' | 'off' | 'default';
}

function withSettingsFlags(cmd: Command): Command {
  return withTlsFlags(cmd)
    .option('--name <name>', 'display name')
    .option('--scopes <scopes>', 'allowed scopes, space-separated', scopes)
    .option('--default-scopes <scopes>', 'scopes granted when the request names none', scopes)
    .option('--ttl <seconds>', 'token lifetime for this client (capped by D1AUTHZ_MAX_TOKEN_TTL)', integer)
    .option('--audience <aud>', 'aud claim for this client (default D1AUTHZ_AUDIENCE)')
    .addOption(new Option('--expires-in-format <format>', 'expires_in in its token responses: the contract\'s string or RFC 6749\'s number (default D1AUTHZ_EXPIRES_IN_FORMAT)').choices(['string', 'number', 'default']))
    .addOption(new Option('--expires-at <on|off>', 'expires_at in its token responses (default D1AUTHZ_EXPIRES_AT)').choices(['on', 'off', 'default']));
}

const settingsFrom = (o: SettingsFlags): ClientSettings => ({
  name: o.name,
  scopes: o.scopes,
  defaultScopes: o.defaultScopes,
  ttl: o.ttl,
  audience: o.audience,
  tokens: o.tokens,
  introspect: o.introspect,
  expiresInFormat: o.expiresInFormat === 'default' ? null : o.expiresInFormat,
  expiresAt: o.expiresAt === undefined ? undefined : o.expiresAt === 'default' ? null : o.expiresAt === 'on',
  tls: tlsSettingsFrom(o),
});

function describe(c: Client): string {
  return [
    `client_id:      ${c.clientId}`,
    `name:           ${c.name}`,
    `enabled:        ${c.enabled}`,
    `scopes:         ${c.allowedScopes.join(' ') || '(none)'}`,
    `default scopes: ${c.defaultScopes.join(' ') || '(none)'}`,
    `grant types:    ${c.grantTypes.join(' ') || '(none)'}`,
    `audience:       ${c.audience ?? '(server default)'}`,
    `ttl:            ${c.tokenTtl ?? '(server default)'}`,
    `introspect:     ${c.introspect === true}`,
    describeTls(c),
  ].join('\n');
}

export function clientCommands(globals: () => GlobalOptions): Command {
  const client = new Command('client').description('manage OAuth clients (D1 is one)');

  withSettingsFlags(client.command('create <client_id>').description('register a client; its secret is printed once'))
    .option('--secret <secret>', 'import this secret instead of generating one (D1 onboarding may dictate it)')
    .option('--force', 'accept an imported secret shorter than 32 characters')
    .option('--no-tokens', 'the client may not obtain tokens (e.g. a resource server that only introspects)')
    .option('--introspect', 'the client may introspect tokens and read the revocation feed (a resource server)')
    .option('--no-introspect', 'the client may not introspect tokens (the default)')
    .option('--json', 'print {"client_id","client_secret"} as JSON')
    .action(async (clientId: string, o: SettingsFlags & { secret?: string; force?: boolean; json?: boolean }) =>
      withServices(globals(), async (s) => {
        const { client: c, clientSecret } = await s.clients.create(clientId, settingsFrom(o), { secret: o.secret, force: o.force });
        if (usesCertificateOnly(c)) {
          print(!!o.json, { client_id: c.clientId, token_endpoint_auth_method: 'tls_client_auth' }, () =>
            `${describe(c)}\n\nNo secret: this client authenticates with its certificate (RFC 8705 tls_client_auth).`,
          );
          return;
        }
        print(!!o.json, { client_id: c.clientId, client_secret: clientSecret }, () =>
          `${describe(c)}\nclient_secret:  ${clientSecret}\n\nThe secret is shown only this once: store it now.`,
        );
      }),
    );

  client
    .command('list')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const list = await s.clients.list();
        print(!!o.json, list, () => (list.length ? list.map((c) => `${c.clientId}\t${c.enabled ? 'enabled' : 'disabled'}\t${c.allowedScopes.join(' ')}`).join('\n') : '(no clients)'));
      }),
    );

  client
    .command('show <client_id>')
    .option('--json', 'JSON output')
    .action(async (clientId: string, o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const view = await s.clients.show(clientId);
        print(!!o.json, view, () => `${describe(view)}\nsecrets:        ${view.secrets.map((x) => `created ${x.createdAt}${x.expiresAt ? `, expires ${x.expiresAt}` : ''}`).join('; ')}`);
      }),
    );

  withSettingsFlags(client.command('update <client_id>').description('change a client; omitted settings stay'))
    .option('--tokens', 'allow the client to obtain tokens')
    .option('--no-tokens', 'forbid the client to obtain tokens')
    .option('--introspect', 'allow the client to introspect tokens and read the revocation feed')
    .option('--no-introspect', 'forbid the client to introspect tokens')
    .option('--json', 'JSON output')
    .action(async (clientId: string, o: SettingsFlags & { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const updated = await s.clients.update(clientId, settingsFrom(o));
        print(!!o.json, updated, () => describe(updated));
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
      .action(async (clientId: string) => withServices(globals(), (s) => s.clients.setEnabled(clientId, enabled)));
  }

  client
    .command('delete <client_id>')
    .action(async (clientId: string) => withServices(globals(), (s) => s.clients.delete(clientId)));

  client
    .command('rotate-secret <client_id>')
    .description('issue a new secret; the old ones keep working for the grace period')
    .option('--grace <seconds>', 'how long the old secrets keep working', integer, 86_400)
    .option('--secret <secret>', 'import this secret instead of generating one')
    .option('--force', 'accept an imported secret shorter than 32 characters')
    .option('--json', 'JSON output')
    .action(async (clientId: string, o: { grace: number; secret?: string; force?: boolean; json?: boolean }) =>
      withServices(globals(), async (s) => {
        const r = await s.clients.rotateSecret(clientId, o.grace, { secret: o.secret, force: o.force });
        print(!!o.json, { client_id: clientId, client_secret: r.clientSecret, old_secrets_expire_at: r.oldSecretsExpireAt }, () =>
          `client_secret: ${r.clientSecret}\nold secrets work until ${r.oldSecretsExpireAt}\n\nThe secret is shown only this once: store it now.`,
        );
      }),
    );
  return client;
}
