// Registers many clients fast for the d1-authz-10k-clients target, without running the CLI (and
// its scrypt) thousands of times: the CLI creates ONE template client, whose secret it hashes at the
// server's real default cost; then every other client row (and its client_secrets row) is a copy
// of the template's rows with another client_id, written with the project's own store code
// (openStore from the build, Kysely over the tables of src/store/schema.ts). All clients share the
// secret and its hash, but the server's credential cache is keyed by (client_id, secret), so each
// client still pays one full scrypt verification the first time it asks for a token.

import type { Store } from '../../src/store/database.js';
import { importDist } from './d1.js';

export interface SeedResult {
  clientIds: string[];
  /** log2 N of the copied scrypt hash (the `ln=` of its PHC string). */
  scryptCost: number;
  seconds: number;
}

const BATCH = 400;

export async function seedClients(databaseUrl: string, templateId: string, count: number, prefix: string): Promise<SeedResult> {
  const t0 = Date.now();
  const { openStore } = await importDist<{ openStore: (url: string) => Store }>('store/database.js');
  const store = openStore(databaseUrl);
  try {
    const { db } = store;
    const client = await db.selectFrom('clients').selectAll().where('client_id', '=', templateId).executeTakeFirstOrThrow();
    const secrets = await db.selectFrom('client_secrets').selectAll().where('client_id', '=', templateId).execute();
    if (secrets.length !== 1 || secrets[0] === undefined) throw new Error(`template client ${templateId} has ${secrets.length} secrets (want 1)`);
    const { id: _id, ...secret } = secrets[0];
    const cost = /^\$scrypt\$ln=(\d+),/.exec(secret.secret_hash);
    if (!cost?.[1]) throw new Error(`template secret hash is not a scrypt PHC string: ${secret.secret_hash.slice(0, 20)}...`);
    const width = String(count - 1).length;
    const clientIds = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(width, '0')}`);
    const now = Date.now();
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < clientIds.length; i += BATCH) {
        const ids = clientIds.slice(i, i + BATCH);
        await trx
          .insertInto('clients')
          .values(ids.map((id) => ({ ...client, client_id: id, name: id, created_at: now, updated_at: now })))
          .execute();
        await trx
          .insertInto('client_secrets')
          .values(ids.map((id) => ({ ...secret, client_id: id, created_at: now })))
          .execute();
      }
    });
    const n = await db.selectFrom('clients').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (Number(n.n) !== count + 1) throw new Error(`expected ${count + 1} clients after seeding, found ${n.n}`);
    return { clientIds, scryptCost: Number(cost[1]), seconds: (Date.now() - t0) / 1000 };
  } finally {
    await store.close();
  }
}
