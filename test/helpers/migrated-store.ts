/** A store with every migration applied, for tests that read or write it directly, or start a server on it afterwards. */
import { openStore, type Store } from '../../src/store/database.js';
import { migrateToLatest } from '../../src/store/migrations.js';

export async function openMigratedStore(url: string): Promise<Store> {
  const store = openStore(url);
  await migrateToLatest(store);
  return store;
}

/** Migrates the database at `url` and closes the connection: a server or a process started on it later opens its own. */
export async function migrateDatabase(url: string): Promise<void> {
  const store = await openMigratedStore(url);
  await store.close();
}
