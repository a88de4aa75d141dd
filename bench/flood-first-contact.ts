// First contact under a wrong-secret flood: how long a valid client that must pay a slow hash (never
// seen before) waits for its token, from the moment a 128-connection flood from another address starts,
// without waiting for the flood's first burst to pass. Prints one line per try and the flood's answers.
//
//   node --import tsx bench/flood-first-contact.ts            # lockout on (the default)
//   BENCH_LOCKOUT=false node --import tsx bench/flood-first-contact.ts
//
// The server runs in this process (test/helpers/server.ts: the default scrypt cost and hash budget), the
// flood in a child process from 127.0.0.1, the valid client from 127.0.0.2.

import { startFlood } from '../test/helpers/flood.js';
import { callFrom, tokenFrom } from '../test/helpers/from-address.js';
import { startTestServer } from '../test/helpers/server.js';

const TRIES = 5;

async function main(): Promise<void> {
  const lockout = process.env.BENCH_LOCKOUT !== 'false';
  const server = await startTestServer({ lockout, scryptCost: 15, maxPendingHashes: 64 });
  try {
    await server.createClient('d1');
    const clients = [];
    for (let i = 0; i <= TRIES; i++) clients.push(await server.createClient(`first-contact-${i}`));
    const before = await tokenFrom('127.0.0.2', server.tokenUrl, clients[0]!.clientId, clients[0]!.clientSecret);
    console.log(`lockout ${lockout ? 'on' : 'off'}; before the flood: token ${before.status} in ${Math.round(before.ms)} ms`);
    const flood = startFlood({ tokenUrl: server.tokenUrl, connections: 128, localAddress: '127.0.0.1', clientId: 'd1', maxMs: 60_000, maxRequests: 400_000 });
    await flood.answered(1);
    const started = Date.now();
    for (const c of clients.slice(1)) {
      const health = await callFrom('127.0.0.2', `${server.origin}/healthz`, { timeoutMs: 60_000 });
      const token = await tokenFrom('127.0.0.2', server.tokenUrl, c.clientId, c.clientSecret);
      console.log(`+${Date.now() - started} ms after the flood began: /healthz in ${Math.round(health.ms)} ms, first-contact token ${token.status} in ${Math.round(token.ms)} ms`);
    }
    console.log(`flood: ${JSON.stringify(await flood.stop())}`);
  } finally {
    await server.close();
  }
}

await main();
