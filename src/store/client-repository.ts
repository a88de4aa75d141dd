import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Client, ClientSecret, ExpiresInFormat, GrantType, TokenEndpointAuthMethod } from '../model/client.js';
import { insertAuditRows, type NewAuditRow } from './audit-repository.js';
import { recordChange } from './change-repository.js';
import { hasLiveCutoff, insertClientCutoff } from './revocation-repository.js';
import type { ClientsTable, Database } from './schema.js';
import { writeFirst } from './write-lock.js';

export interface ClientRecord {
  readonly client: Client;
  readonly secrets: readonly ClientSecret[];
}

export type ClientPatch = Partial<Pick<Client, 'name' | 'allowedScopes' | 'defaultScopes' | 'grantTypes' | 'audience' | 'tokenTtl' | 'enabled' | 'introspect' | 'expiresInFormat' | 'expiresAt'>> & ClientTlsPatch;

/** RFC 8705 settings (migration 0003). null clears a value. */
export type ClientTlsPatch = Partial<Pick<Client, (typeof TLS_FIELDS)[number][0] | 'tokenEndpointAuthMethod' | 'certificateBoundTokens'>>;

/** Client field -> column, for the nullable RFC 8705 strings. */
const TLS_FIELDS = [
  ['tlsClientAuthSubjectDn', 'tls_client_auth_subject_dn'],
  ['tlsClientAuthSanDns', 'tls_client_auth_san_dns'],
  ['tlsClientAuthSanUri', 'tls_client_auth_san_uri'],
  ['tlsClientAuthSanEmail', 'tls_client_auth_san_email'],
  ['tlsClientCertificateThumbprint', 'tls_client_certificate_thumbprint'],
] as const;

function tlsFromRow(row: Selectable<ClientsTable>): ClientTlsPatch {
  return {
    tokenEndpointAuthMethod: row.token_endpoint_auth_method as TokenEndpointAuthMethod,
    ...Object.fromEntries(TLS_FIELDS.map(([field, column]) => [field, row[column]])),
    certificateBoundTokens: row.certificate_bound_tokens === 1,
  };
}

function tlsToRow(c: ClientTlsPatch): Partial<Selectable<ClientsTable>> {
  const values: Partial<Selectable<ClientsTable>> = {};
  if (c.tokenEndpointAuthMethod !== undefined) values.token_endpoint_auth_method = c.tokenEndpointAuthMethod;
  for (const [field, column] of TLS_FIELDS) if (c[field] !== undefined) values[column] = c[field];
  if (c.certificateBoundTokens !== undefined) values.certificate_bound_tokens = c.certificateBoundTokens ? 1 : 0;
  return values;
}

function shapeToRow(c: Pick<ClientPatch, 'expiresInFormat' | 'expiresAt'>): Partial<Selectable<ClientsTable>> {
  const values: Partial<Selectable<ClientsTable>> = {};
  if (c.expiresInFormat !== undefined) values.expires_in_format = c.expiresInFormat;
  if (c.expiresAt !== undefined) values.include_expires_at = c.expiresAt === null ? null : c.expiresAt ? 1 : 0;
  return values;
}

/** When a client-wide revocation cut-off written with a client change may be forgotten (epoch ms). */
export interface CutoffPolicy {
  readonly cutoffExpiresAt: number;
}

const list = (s: string): string[] => (s === '' ? [] : s.split(' '));

function toClient(row: Selectable<ClientsTable>): Client {
  return {
    clientId: row.client_id,
    name: row.name,
    allowedScopes: list(row.allowed_scopes),
    defaultScopes: list(row.default_scopes),
    grantTypes: list(row.grant_types) as GrantType[],
    audience: row.audience,
    tokenTtl: row.token_ttl,
    enabled: row.enabled === 1,
    introspect: row.introspect === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresInFormat: row.expires_in_format as ExpiresInFormat | null,
    expiresAt: row.include_expires_at === null ? null : row.include_expires_at === 1,
    ...tlsFromRow(row),
  };
}

async function readRecord(db: Kysely<Database> | Transaction<Database>, clientId: string): Promise<ClientRecord | undefined> {
  const row = await db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  if (!row) return undefined;
  const secrets = await db
    .selectFrom('client_secrets')
    .select(['id', 'secret_hash', 'created_at', 'expires_at'])
    .where('client_id', '=', clientId)
    .orderBy('id', 'desc')
    .execute();
  return {
    client: toClient(row),
    secrets: secrets.map((s) => ({ id: s.id, hash: s.secret_hash, createdAt: s.created_at, expiresAt: s.expires_at })),
  };
}

/**
 * The audit row of an admin change, made from the record as it was before and after the change,
 * both read inside the change's transaction (undefined: no record). Inserted in that transaction.
 */
export type AuditOfChange = (before: ClientRecord | undefined, after: ClientRecord | undefined) => NewAuditRow;

async function audited(trx: Transaction<Database>, clientId: string, before: ClientRecord | undefined, audit: AuditOfChange | undefined): Promise<void> {
  if (audit) await insertAuditRows(trx, [audit(before, await readRecord(trx, clientId))]);
}

/** Clients and their secret hashes. Every write records a change (and its audit row) in the same transaction. */
export class ClientRepository {
  constructor(private readonly db: Kysely<Database>) {}

  find(clientId: string): Promise<ClientRecord | undefined> {
    return readRecord(this.db, clientId);
  }

  /** Every client id, at most `limit` of them (one statement, the id column only). */
  async ids(limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('clients').select('client_id').limit(limit).execute();
    return rows.map((r) => r.client_id);
  }

  async list(): Promise<Client[]> {
    const rows = await this.db.selectFrom('clients').selectAll().orderBy('client_id').execute();
    return rows.map(toClient);
  }

  /*
   * Each change below answers the seq of the change row it wrote (domain/sync/change-feed.ts), or
   * undefined when it changed nothing.
   */

  /**
   * Undefined when the client id is taken. With `cutoff`, an id reused while the cut-off of its deleted
   * predecessor still lives gets a fresh cut-off, so verifiers accept the new client's tokens.
   */
  async create(client: Client, secretHash: string | null, cutoff?: CutoffPolicy, audit?: AuditOfChange): Promise<number | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await writeFirst(trx);
      const existing = await trx.selectFrom('clients').select('client_id').where('client_id', '=', client.clientId).executeTakeFirst();
      if (existing) return undefined;
      await trx
        .insertInto('clients')
        .values({
          client_id: client.clientId,
          name: client.name,
          allowed_scopes: client.allowedScopes.join(' '),
          default_scopes: client.defaultScopes.join(' '),
          grant_types: client.grantTypes.join(' '),
          audience: client.audience,
          token_ttl: client.tokenTtl,
          enabled: client.enabled ? 1 : 0,
          introspect: client.introspect ? 1 : 0,
          created_at: client.createdAt,
          updated_at: client.updatedAt,
          ...shapeToRow(client),
          ...tlsToRow(client),
        })
        .execute();
      if (cutoff && (await hasLiveCutoff(trx, client.clientId, client.createdAt))) {
        await insertClientCutoff(trx, { clientId: client.clientId, issuedBefore: client.createdAt, expiresAt: cutoff.cutoffExpiresAt, at: client.createdAt });
      }
      if (secretHash !== null) {
        await trx.insertInto('client_secrets').values({ client_id: client.clientId, secret_hash: secretHash, created_at: client.createdAt, expires_at: null }).execute();
      }
      const seq = await recordChange(trx, 'client', client.clientId, client.createdAt);
      await audited(trx, client.clientId, undefined, audit);
      return seq;
    });
  }

  /** Undefined when the client does not exist, or (with `ifUpdatedAt`) was changed since that version. */
  async update(clientId: string, patch: ClientPatch, at: number, audit?: AuditOfChange, ifUpdatedAt?: number): Promise<number | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await writeFirst(trx);
      const before = audit && (await readRecord(trx, clientId));
      const values: Partial<Selectable<ClientsTable>> = { updated_at: at };
      if (patch.name !== undefined) values.name = patch.name;
      if (patch.allowedScopes !== undefined) values.allowed_scopes = patch.allowedScopes.join(' ');
      if (patch.defaultScopes !== undefined) values.default_scopes = patch.defaultScopes.join(' ');
      if (patch.grantTypes !== undefined) values.grant_types = patch.grantTypes.join(' ');
      if (patch.audience !== undefined) values.audience = patch.audience;
      if (patch.tokenTtl !== undefined) values.token_ttl = patch.tokenTtl;
      if (patch.enabled !== undefined) values.enabled = patch.enabled ? 1 : 0;
      Object.assign(values, tlsToRow(patch), shapeToRow(patch));
      if (patch.introspect !== undefined) values.introspect = patch.introspect ? 1 : 0;
      let update = trx.updateTable('clients').set(values).where('client_id', '=', clientId);
      if (ifUpdatedAt !== undefined) update = update.where('updated_at', '=', ifUpdatedAt);
      const result = await update.executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return undefined;
      const seq = await recordChange(trx, 'client', clientId, at);
      await audited(trx, clientId, before, audit);
      return seq;
    });
  }

  /**
   * Enables or disables a client. With `cutoff`, a real change also writes a client-wide revocation:
   * disabling revokes every token of the client, enabling revokes those issued before now, so tokens
   * minted before (or, by a node that had not yet seen the change, during) the disabled period stay dead.
   */
  async setEnabled(clientId: string, enabled: boolean, at: number, cutoff?: CutoffPolicy, audit?: AuditOfChange): Promise<number | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await writeFirst(trx);
      const current = await trx.selectFrom('clients').select('enabled').where('client_id', '=', clientId).executeTakeFirst();
      if (!current) return undefined;
      const before = audit && (await readRecord(trx, clientId));
      await trx.updateTable('clients').set({ enabled: enabled ? 1 : 0, updated_at: at }).where('client_id', '=', clientId).execute();
      const seq = await recordChange(trx, 'client', clientId, at);
      if (cutoff && (current.enabled === 1) !== enabled) {
        await insertClientCutoff(trx, { clientId, issuedBefore: enabled ? at : null, expiresAt: cutoff.cutoffExpiresAt, at });
      }
      await audited(trx, clientId, before, audit);
      return seq;
    });
  }

  /** With `cutoff`, also revokes every token of the client (verifiers that never see the client table learn it). */
  async delete(clientId: string, at: number, cutoff?: CutoffPolicy, audit?: AuditOfChange): Promise<number | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await writeFirst(trx);
      const before = audit && (await readRecord(trx, clientId));
      await trx.deleteFrom('client_secrets').where('client_id', '=', clientId).execute();
      const result = await trx.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return undefined;
      const seq = await recordChange(trx, 'client', clientId, at);
      if (cutoff) await insertClientCutoff(trx, { clientId, issuedBefore: null, expiresAt: cutoff.cutoffExpiresAt, at });
      await audited(trx, clientId, before, audit);
      return seq;
    });
  }

  /**
   * Adds a secret. Secrets that had no end get one at `oldSecretsExpireAt` (the grace period);
   * those already past their end are removed.
   */
  async addSecret(clientId: string, secretHash: string, oldSecretsExpireAt: number, at: number, audit?: AuditOfChange): Promise<number | undefined> {
    return this.db.transaction().execute(async (trx) => {
      await writeFirst(trx);
      const exists = await trx.selectFrom('clients').select('client_id').where('client_id', '=', clientId).executeTakeFirst();
      if (!exists) return undefined;
      const before = audit && (await readRecord(trx, clientId));
      await trx.updateTable('client_secrets').set({ expires_at: oldSecretsExpireAt }).where('client_id', '=', clientId).where('expires_at', 'is', null).execute();
      await trx.deleteFrom('client_secrets').where('client_id', '=', clientId).where('expires_at', '<=', at).execute();
      await trx.insertInto('client_secrets').values({ client_id: clientId, secret_hash: secretHash, created_at: at, expires_at: null }).execute();
      const seq = await recordChange(trx, 'client', clientId, at);
      await trx.updateTable('clients').set({ updated_at: at }).where('client_id', '=', clientId).execute();
      await audited(trx, clientId, before, audit);
      return seq;
    });
  }
}
