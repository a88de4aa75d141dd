/**
 * 128 connections of wrong secrets from 127.0.0.1 (half for a real client id, half for ids that do
 * not exist) keep the slow-hash queue full. A valid client from 127.0.0.2 that has to pay a slow
 * hash (first contact, or its verified-credential cache entry has expired) must still get its token
 * within 2 s, every time: hashes are scheduled fairly across addresses, and one address holds at
 * most half of D1AUTHZ_MAX_PENDING_HASHES.
 *
 * The lockout is off here, so that fairness alone is what is tested (the lockout would soon answer
 * the flood with 429 without hashing it).
 *
 * The bound: the valid attempt waits for one running hash to finish, then runs its own, so on an
 * idle machine it takes about two hashes (~0.1 s each) and 2 s is the target with room to
 * spare. CI machines are shared: the bound is 2 s or 8 times what a first-contact token takes on
 * this machine just before the flood, whichever is more (the flood adds one hash of waiting and its
 * own load to the event loop). Either way it is not a speed test: without fair scheduling the valid
 * client is not slow but refused, 503 for as long as the flood lasts (0 tokens in 6 tries, measured).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFlood, type Flood } from '../helpers/flood.js';
import { callFrom, metric, tokenFrom } from '../helpers/from-address.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep, waitFor } from '../helpers/wait.js';

const TARGET_MS = 2000;
const TRIES = 5;

describe('a wrong-secret flood from one address', () => {
  let server: TestServer;
  let flood: Flood | undefined;
  const clients: { clientId: string; clientSecret: string }[] = [];
  let returning: { clientId: string; clientSecret: string };

  before(async () => {
    // The default scrypt cost and pending budget; a one-second cache so that an entry can expire in the test.
    server = await startTestServer({ lockout: false, scryptCost: 14, credentialCacheTtl: 1, maxPendingHashes: 64 });
    await server.createClient('d1');
    for (let i = 0; i < TRIES + 3; i++) clients.push(await server.createClient(`first-contact-${i}`));
    returning = await server.createClient('returning');
  });
  after(async () => {
    await flood?.stop();
    await server?.close();
  });

  it('leaves a first-contact client and a client whose cache entry expired their tokens within 2 s, every time', async () => {
    assert.equal((await tokenFrom('127.0.0.2', server.tokenUrl, returning.clientId, returning.clientSecret)).status, 200, 'verified once, before the flood');
    const unflooded: number[] = [];
    for (const c of clients.splice(0, 3)) unflooded.push((await tokenFrom('127.0.0.2', server.tokenUrl, c.clientId, c.clientSecret)).ms);
    const boundMs = Math.max(TARGET_MS, 8 * unflooded.sort((a, b) => a - b)[1]!);

    flood = startFlood({ tokenUrl: server.tokenUrl, connections: 128, localAddress: '127.0.0.1', clientId: 'd1', maxMs: 120_000, maxRequests: 400_000 });
    await flood.answered(256);
    // Past the flood's first burst (every connection's first request arriving at once), as far as
    // this machine allows: a slower event loop is allowed for in each try's bound below.
    await waitFor('the event loop to answer /healthz within 1 s under the flood', async () => (await callFrom('127.0.0.2', `${server.origin}/healthz`, { timeoutMs: 60_000 })).ms < 1000, 30_000).catch(() => {});
    // The flood holds its whole share of the queue.
    await waitFor('the flood to fill its share of the hash queue', async () => ((await metric(server.adminOrigin!, 'd1authz_secret_hashes_pending')) ?? 0) >= 24, 20_000);

    const times: number[] = [];
    const loopDelays: number[] = [];
    const healthz = async () => loopDelays.push((await callFrom('127.0.0.2', `${server.origin}/healthz`, { timeoutMs: 60_000 })).ms);
    for (const c of clients) {
      await healthz();
      const res = await tokenFrom('127.0.0.2', server.tokenUrl, c.clientId, c.clientSecret);
      assert.equal(res.status, 200, `${c.clientId}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      times.push(Math.round(res.ms));
    }
    // The cache entry is a second old and not used since: it has expired, the secret is hashed again.
    await sleep(1200);
    await healthz();
    const again = await tokenFrom('127.0.0.2', server.tokenUrl, returning.clientId, returning.clientSecret);
    assert.equal(again.status, 200, JSON.stringify(again.json));
    times.push(Math.round(again.ms));
    assert.ok(((await metric(server.adminOrigin!, 'd1authz_secret_hashes_pending')) ?? 0) >= 8, 'the flood was still hashing when the last token came');

    const summary = await flood.stop();
    flood = undefined;
    const bounds = loopDelays.map((d) => Math.round(boundMs + 2 * d));
    console.log(
      `first contact before the flood, ms: ${unflooded.map(Math.round).join(', ')}; under the flood: ${times.join(', ')}; ` +
        `/healthz under the flood: ${loopDelays.map(Math.round).join(', ')}; bounds ${bounds.join(', ')}; flood: ${JSON.stringify(summary)}`,
    );
    times.forEach((ms, i) => assert.ok(ms < bounds[i]!, `every valid token within its bound (${times.join(', ')} ms; bounds ${bounds.join(', ')})`));
    assert.ok((summary.statuses['401'] ?? 0) > 0, 'the flood was hashed and refused');
    assert.ok((summary.statuses['503'] ?? 0) > 0, 'the flood was held to its share: the excess refused at once');
    assert.deepEqual(Object.keys(summary.statuses).filter((s) => s !== '401' && s !== '503'), [], 'nothing but 401 and 503 for the flood');
  });
});
