/**
 * Each test server gets a database of its own: a SQLite file in a temp folder, or, with
 * D1AUTHZ_TEST_STORE=postgres, a fresh PostgreSQL database (dropped afterwards) on the
 * server at D1AUTHZ_TEST_PG_URL (default postgres://127.0.0.1:5432/test). An unreachable
 * PostgreSQL fails the test: it never skips.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const testStore = (process.env.D1AUTHZ_TEST_STORE ?? 'sqlite') as 'sqlite' | 'postgres';
const adminUrl = process.env.D1AUTHZ_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly url: string;
  readonly dir: string;
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `store` defaults to D1AUTHZ_TEST_STORE; tests whose point is PostgreSQL (several nodes, outages) pass 'postgres'. */
export async function createTestDatabase(store: 'sqlite' | 'postgres' = testStore): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'd1authz-test-'));
  if (store === 'sqlite') {
    return { url: `sqlite:${join(dir, 'd1-authz.sqlite')}`, dir, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `d1authz_t_${randomBytes(6).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dir,
    drop: async () => {
      rmSync(dir, { recursive: true, force: true });
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}
