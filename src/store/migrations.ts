/**
 * Versioned migrations for both dialects, kept in code so the package carries them.
 * Append new entries; never edit one that has shipped.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { StoreSetupError, type Dialect, type Store } from './database.js';

/** Audit rows younger than this many days cannot be deleted by anyone through the server's paths (the trigger refuses). */
export const AUDIT_RETENTION_FLOOR_DAYS = 30;

function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('clients')
          .addColumn('client_id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('allowed_scopes', 'text', (c) => c.notNull())
          .addColumn('default_scopes', 'text', (c) => c.notNull())
          .addColumn('grant_types', 'text', (c) => c.notNull())
          .addColumn('audience', 'text')
          .addColumn('token_ttl', 'integer')
          .addColumn('enabled', 'integer', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('client_secrets')
          .addColumn('id', serial)
          .addColumn('client_id', 'text', (c) => c.notNull().references('clients.client_id').onDelete('cascade'))
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('expires_at', bigint)
          .execute();
        await db.schema.createIndex('client_secrets_client').on('client_secrets').column('client_id').execute();
        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('alg', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('private_key_enc', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('activate_at', bigint, (c) => c.notNull())
          .addColumn('retire_at', bigint)
          .execute();
        await db.schema
          .createTable('changes')
          .addColumn('seq', serial)
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
      },
    },
    '0002_revocations': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('clients').addColumn('introspect', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema
          .createTable('revocations')
          .addColumn('seq', serial)
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('jti', 'text', (c) => c.unique())
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('issued_before', bigint)
          .addColumn('expires_at', bigint, (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('revocations_expires_at').on('revocations').column('expires_at').execute();
        await db.schema.createIndex('revocations_client').on('revocations').column('client_id').execute();
      },
    },
    '0003_client_tls': {
      // RFC 8705 client settings. One ALTER per column: SQLite adds a single column per statement.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('clients').addColumn('token_endpoint_auth_method', 'text', (c) => c.notNull().defaultTo('client_secret_basic')).execute();
        for (const column of ['tls_client_auth_subject_dn', 'tls_client_auth_san_dns', 'tls_client_auth_san_uri', 'tls_client_auth_san_email', 'tls_client_certificate_thumbprint']) {
          await db.schema.alterTable('clients').addColumn(column, 'text').execute();
        }
        await db.schema.alterTable('clients').addColumn('certificate_bound_tokens', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    '0010_audit_events': {
      // Append-only: nobody updates a row, and rows leave only by retention, once older than the
      // floor below (store/audit-repository.ts prunes; docs/operations.md has the GRANTs).
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('audit_events')
          .addColumn('id', serial)
          .addColumn('at', bigint, (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('actor', 'text')
          .addColumn('client_id', 'text')
          .addColumn('address', 'text')
          .addColumn('correlation_id', 'text')
          .addColumn('details', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('audit_events_at').on('audit_events').columns(['at', 'id']).execute();
        await db.schema.createIndex('audit_events_client_at').on('audit_events').columns(['client_id', 'at']).execute();
        await db.schema.createIndex('audit_events_type_at').on('audit_events').columns(['type', 'at']).execute();
        const floorMs = AUDIT_RETENTION_FLOOR_DAYS * 86_400_000;
        if (dialect === 'sqlite') {
          await sql`create trigger audit_events_no_update before update on audit_events begin select raise(abort, 'audit_events is append-only'); end`.execute(db);
          await sql.raw(
            `create trigger audit_events_no_early_delete before delete on audit_events
             when old.at > (cast(strftime('%s','now') as integer) * 1000 - ${floorMs})
             begin select raise(abort, 'audit_events rows are kept at least ${AUDIT_RETENTION_FLOOR_DAYS} days'); end`,
          ).execute(db);
          return;
        }
        // A row leaves only through d1authz_prune_audit_events (SECURITY DEFINER, run with the
        // owner's rights), and only once older than the floor: the server's role needs no DELETE.
        await sql.raw(`
          create function d1authz_audit_events_guard() returns trigger language plpgsql as $$
          begin
            if tg_op = 'DELETE'
               and current_setting('d1authz.audit_pruning', true) = 'on'
               and old.at < (extract(epoch from now()) * 1000)::bigint - ${floorMs} then
              return old;
            end if;
            raise exception 'audit_events is append-only (% refused)', tg_op using errcode = 'insufficient_privilege';
          end $$`).execute(db);
        await sql`create trigger audit_events_append_only before update or delete on audit_events for each row execute function d1authz_audit_events_guard()`.execute(db);
        await sql`create trigger audit_events_no_truncate before truncate on audit_events for each statement execute function d1authz_audit_events_guard()`.execute(db);
        // The schema is pinned (pg_temp last), so a caller's temporary table cannot stand in for the real one.
        const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
        const schema = '"' + rows[0]!.schema.replaceAll('"', '""') + '"';
        await sql.raw(`
          create function d1authz_prune_audit_events(before_ms bigint, max_rows integer) returns integer
          language plpgsql security definer set search_path = ${schema}, pg_temp as $$
          declare
            n integer;
          begin
            perform set_config('d1authz.audit_pruning', 'on', true);
            delete from audit_events where id in (
              select id from audit_events where at < least(before_ms, (extract(epoch from now()) * 1000)::bigint - ${floorMs})
              order by at limit greatest(1, least(max_rows, 10000)));
            get diagnostics n = row_count;
            perform set_config('d1authz.audit_pruning', 'off', true);
            return n;
          end $$`).execute(db);
        // Functions are executable by PUBLIC by default: only the owner, and whom it grants (docs/operations.md).
        await sql`revoke all on function d1authz_prune_audit_events(bigint, integer) from public`.execute(db);
      },
    },
    '0013_client_response_shape': {
      // Per-client token response shape; null keeps the server's D1AUTHZ_EXPIRES_IN_FORMAT / D1AUTHZ_EXPIRES_AT.
      async up(db: Kysely<any>) {
        await db.schema.alterTable('clients').addColumn('expires_in_format', 'text').execute();
        await db.schema.alterTable('clients').addColumn('include_expires_at', 'integer').execute();
      },
    },
    '0014_admin_tokens': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('admin_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', bigint, (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('revoked_at', bigint)
          .addColumn('last_used_at', bigint)
          .execute();
      },
    },
    '0011_lockouts': {
      // Brute-force lockout counters, shared by every worker and node (store/lockout-repository.ts).
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('lockouts')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text')
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('window_start', bigint, (c) => c.notNull())
          .addColumn('lock_ms', bigint, (c) => c.notNull())
          .addColumn('locked_until', bigint, (c) => c.notNull())
          .addColumn('last_failure_at', bigint, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('lockouts_address').on('lockouts').column('address').execute();
        await db.schema.createIndex('lockouts_client').on('lockouts').column('client_id').execute();
        await db.schema.createIndex('lockouts_locked_until').on('lockouts').column('locked_until').execute();
        await db.schema.createIndex('lockouts_last_failure').on('lockouts').column('last_failure_at').execute();
      },
    },
    '0012_key_custody': {
      // Keys held by an HSM (no private_key_enc), the standby key, key withdrawal. SQLite cannot drop a
      // NOT NULL constraint: the table is copied into its new shape instead.
      async up(db: Kysely<any>) {
        if (dialect === 'postgres') {
          await sql`alter table signing_keys alter column private_key_enc drop not null`.execute(db);
        } else {
          await db.schema
            .createTable('signing_keys_0012')
            .addColumn('kid', 'text', (c) => c.primaryKey())
            .addColumn('alg', 'text', (c) => c.notNull())
            .addColumn('public_jwk', 'text', (c) => c.notNull())
            .addColumn('private_key_enc', 'text')
            .addColumn('created_at', bigint, (c) => c.notNull())
            .addColumn('activate_at', bigint, (c) => c.notNull())
            .addColumn('retire_at', bigint)
            .execute();
          await sql`insert into signing_keys_0012 (kid, alg, public_jwk, private_key_enc, created_at, activate_at, retire_at)
            select kid, alg, public_jwk, private_key_enc, created_at, activate_at, retire_at from signing_keys`.execute(db);
          await db.schema.dropTable('signing_keys').execute();
          await db.schema.alterTable('signing_keys_0012').renameTo('signing_keys').execute();
        }
        await db.schema.alterTable('signing_keys').addColumn('provider', 'text', (c) => c.notNull().defaultTo('local')).execute();
        await db.schema.alterTable('signing_keys').addColumn('hsm_key_id', 'text').execute();
        await db.schema.alterTable('signing_keys').addColumn('standby', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('signing_keys').addColumn('revoked_at', bigint).execute();
        await db.schema.alterTable('signing_keys').addColumn('revoke_reason', 'text').execute();
        await db.schema.alterTable('signing_keys').addColumn('destroyed_at', bigint).execute();
        await db.schema.alterTable('revocations').addColumn('kid', 'text').execute();
      },
    },
  };
}

class CodeProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations() {
    return migrations(this.dialect);
  }
}

/** Applies pending migrations; returns the names applied. Safe to run on every start. */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: new CodeProvider(store.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * The embedded store migrates itself at start-up; a shared PostgreSQL is migrated on purpose
 * (`d1-authz migrate`), so a node never changes a schema that other nodes are running on.
 */
export async function ensureSchema(store: Store, info: (msg: string) => void): Promise<void> {
  if (store.dialect === 'sqlite') {
    const applied = await migrateToLatest(store);
    if (applied.length) info(`applied migrations: ${applied.join(', ')}`);
    return;
  }
  const migrator = new Migrator({ db: store.db, provider: new CodeProvider(store.dialect) });
  let migrations: Awaited<ReturnType<Migrator['getMigrations']>>;
  try {
    migrations = await migrator.getMigrations();
  } catch (err) {
    // 3D000 invalid_catalog_name: the database itself does not exist.
    if ((err as { code?: string }).code === '3D000') throw new StoreSetupError(`D1AUTHZ_DATABASE_URL: ${(err as Error).message}; create it, then run "d1-authz migrate"`);
    throw err;
  }
  const pending = migrations.filter((m) => m.executedAt === undefined);
  if (pending.length) {
    throw new StoreSetupError(
      `the database of D1AUTHZ_DATABASE_URL is not set up or not current (pending migrations: ${pending.map((m) => m.name).join(', ')}); run "d1-authz migrate"`,
    );
  }
}
