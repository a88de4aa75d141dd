/**
 * The clients file of `client apply -f` and `client export`: a top-level `clients:` list whose keys
 * are those of `client show --json` (client-json.ts). A key left out means its default, so the file
 * is the whole truth about each client it names. Secrets are never in it: a new client's secret is
 * generated and printed once, or read from `client_secret_file` / `client_secret_env`.
 * Validated strictly: an unknown key is refused by name.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { EXPIRES_IN_FORMATS, TOKEN_ENDPOINT_AUTH_METHODS, type Client } from '../model/client.js';
import type { ClientSettings } from '../domain/clients/client-service.js';
import { normalizeThumbprint } from '../domain/clients/client-tls.js';
import { displayOrderToRfc4514 } from '../model/distinguished-name.js';
import { clientSettingsJson, type ClientSettingsJson } from './client-json.js';
import { UsageError } from './exit-codes.js';

const text = z.string().trim().min(1);
const optionalText = text.nullable().default(null);

/** YAML 1.1 readers turn on/off into booleans: both spellings mean the same. */
const onOff = z.preprocess((v) => (v === true ? 'on' : v === false ? 'off' : v), z.enum(['on', 'off']));

const clientEntry = z
  .object({
    client_id: text,
    name: text.optional(),
    enabled: z.boolean().default(true),
    scopes: z.array(text).default([]),
    default_scopes: z.array(text).default([]),
    grant_types: z.array(z.literal('client_credentials')).default(['client_credentials']),
    token_ttl: z.number().int().positive().nullable().default(null),
    audience: optionalText,
    introspect: z.boolean().default(false),
    expires_in_format: z.enum(EXPIRES_IN_FORMATS as [string, ...string[]]).nullable().default(null),
    expires_at: onOff.nullable().default(null),
    token_endpoint_auth_method: z.enum(TOKEN_ENDPOINT_AUTH_METHODS as [string, ...string[]]).default('client_secret_basic'),
    tls_client_auth_subject_dn: optionalText,
    tls_client_auth_san_dns: optionalText,
    tls_client_auth_san_uri: optionalText,
    tls_client_auth_san_email: optionalText,
    tls_client_certificate_thumbprint: optionalText,
    tls_client_certificate_bound_access_tokens: z.boolean().default(false),
    /** Only when the client is created: a file holding its secret (relative to the clients file). */
    client_secret_file: text.optional(),
    /** Only when the client is created: an environment variable holding its secret. */
    client_secret_env: text.optional(),
  })
  .strict();

const clientsFileSchema = z.object({ clients: z.array(clientEntry) }).strict();

export type ClientEntry = z.infer<typeof clientEntry>;

export interface DesiredClient {
  readonly settings: ClientSettingsJson;
  /** Where a new client's secret comes from; generated when neither is given. */
  readonly secretFile?: string;
  readonly secretEnv?: string;
}

const path = (p: readonly PropertyKey[]) => p.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');

/** Reads and validates a clients file; every problem is a UsageError naming the file and the key. */
export function readClientsFile(file: string, onWarning: (message: string) => void): DesiredClient[] {
  let raw: unknown;
  try {
    const source = readFileSync(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(source) : parseYaml(source);
  } catch (err) {
    throw new UsageError(`clients file ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = clientsFileSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const at = path(issue.path) || 'the file';
      if (issue.code === 'unrecognized_keys') {
        const secret = issue.keys.filter((k) => k === 'client_secret' || k === 'secret');
        const hint = secret.length ? ' (secrets never go in the file: use client_secret_file or client_secret_env)' : '';
        return `  ${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}${hint}`;
      }
      return `  ${at}: ${issue.message}`;
    });
    throw new UsageError(`clients file ${file} is invalid:\n${lines.join('\n')}`);
  }
  const seen = new Set<string>();
  return result.data.clients.map((entry, i) => {
    const at = `clients file ${file}: clients[${i}] (${entry.client_id})`;
    if (seen.has(entry.client_id)) throw new UsageError(`${at}: client_id listed twice`);
    seen.add(entry.client_id);
    if (entry.client_secret_file && entry.client_secret_env) throw new UsageError(`${at}: client_secret_file and client_secret_env: give one`);
    for (const [key, scopes] of [['scopes', entry.scopes], ['default_scopes', entry.default_scopes]] as const) {
      const joined = scopes.filter((s) => s.includes(','));
      if (joined.length) onWarning(`${at}: ${key} ${joined.map((s) => `"${s}"`).join(', ')} holds a comma; each list item is one scope (did you mean separate items?)`);
    }
    const dn = entry.tls_client_auth_subject_dn;
    const rfc4514 = dn === null ? undefined : displayOrderToRfc4514(dn);
    if (rfc4514 !== undefined) {
      throw new UsageError(`${at}: tls_client_auth_subject_dn "${dn}" is in openssl's display order (country first), which never matches: RFC 4514 writes "${rfc4514}"`);
    }
    let thumbprint = entry.tls_client_certificate_thumbprint;
    if (thumbprint !== null) {
      const normalized = normalizeThumbprint(thumbprint);
      if (normalized === undefined) throw new UsageError(`${at}: tls_client_certificate_thumbprint must be a base64url or hex SHA-256 of the certificate`);
      thumbprint = normalized;
    }
    const { client_secret_file, client_secret_env, ...settings } = entry;
    return {
      settings: { ...settings, name: settings.name ?? settings.client_id, tls_client_certificate_thumbprint: thumbprint } as ClientSettingsJson,
      ...(client_secret_file ? { secretFile: resolve(dirname(file), client_secret_file) } : {}),
      ...(client_secret_env ? { secretEnv: client_secret_env } : {}),
    };
  });
}

/** The admin service's settings that make a client match `s` exactly (null resets to the server default). */
export function settingsFromJson(s: ClientSettingsJson): ClientSettings {
  return {
    name: s.name,
    scopes: s.scopes,
    defaultScopes: s.default_scopes,
    ttl: s.token_ttl,
    audience: s.audience,
    tokens: s.grant_types.includes('client_credentials'),
    introspect: s.introspect,
    expiresInFormat: s.expires_in_format,
    expiresAt: s.expires_at === null ? null : s.expires_at === 'on',
    tls: {
      authMethod: s.token_endpoint_auth_method,
      subjectDn: s.tls_client_auth_subject_dn,
      sanDns: s.tls_client_auth_san_dns,
      sanUri: s.tls_client_auth_san_uri,
      sanEmail: s.tls_client_auth_san_email,
      thumbprint: s.tls_client_certificate_thumbprint,
      boundTokens: s.tls_client_certificate_bound_access_tokens,
    },
  };
}

export type FieldChange = { from: unknown; to: unknown };

/** The keys whose value differs between the client as stored and as the file wants it. */
export function diffClient(current: Client, desired: ClientSettingsJson): Record<string, FieldChange> {
  const now = clientSettingsJson(current) as unknown as Record<string, unknown>;
  const want = desired as unknown as Record<string, unknown>;
  const changes: Record<string, FieldChange> = {};
  for (const key of Object.keys(want)) {
    if (JSON.stringify(now[key]) !== JSON.stringify(want[key])) changes[key] = { from: now[key] ?? null, to: want[key] };
  }
  return changes;
}

/** What `client apply` would write for a client left at its defaults: those keys are left out of an export. */
const DEFAULTS = clientEntry.parse({ client_id: 'x' }) as Record<string, unknown>;

/** The clients as a file `client apply` accepts (round trip): defaults left out, secrets never in. */
export function exportClientsYaml(clients: readonly Client[]): string {
  const entries = clients.map((c) => {
    const json = clientSettingsJson(c) as unknown as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(json).filter(([k, v]) => k === 'client_id' || k === 'scopes' || (k === 'name' ? v !== c.clientId : JSON.stringify(v) !== JSON.stringify(DEFAULTS[k]))),
    );
  });
  return (
    '# d1-authz clients (client export). Apply with: d1-authz client apply -f FILE\n' +
    '# A key left out has its default; secrets are never here (client_secret_file / client_secret_env on creation).\n' +
    stringifyYaml({ clients: entries })
  );
}
