/**
 * Versioned migrations for both dialects, kept in code so the package carries them.
 * Append new entries; never edit one that has shipped.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { StoreSetupError, type Dialect, type Store } from './database.js';

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
  if (error) throw error instanceof Error ? error : new Error(String(error));
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
