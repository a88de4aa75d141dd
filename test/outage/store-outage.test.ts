/**
 * A node loses its PostgreSQL: it is reached through a TCP proxy (below) that the test cuts and
 * restores. While cut, clients the node knows keep getting tokens (outage grace), unknown ones get
 * 503 temporarily_unavailable with Retry-After, /readyz says 503, nothing answers 500 and the
 * process stays up; once restored, the node recovers by itself. Always PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { BASE_PATH, httpCall, tokenAt, type HttpResult } from '../helpers/http.js';
import { cliEnv, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { sleep, waitFor } from '../helpers/wait.js';

/**
 * A TCP proxy on 127.0.0.1 that can be cut: cutting resets every open connection (as a database
 * restart or a firewall answering RST would) and black-holes new ones (accepted, never answered,
 * as an unreachable network), so the client's connect timeout is what ends them.
 */
class CuttableProxy {
  private readonly server: Server;
  private readonly open = new Set<Socket>();
  private cut = false;
  port = 0;
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => {
      this.track(client);
      if (this.cut) return; // black hole
      this.connections++;
      const upstream = connect(this.target.port, this.target.host);
      this.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end);
      upstream.on('close', end);
    });
  }

  private track(socket: Socket): void {
    this.open.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.open.delete(socket));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  cutOff(): void {
    this.cut = true;
    for (const s of this.open) s.resetAndDestroy();
  }

  restore(): void {
    this.cut = false;
    for (const s of this.open) s.destroy(); // the black-holed attempts
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const viaProxy = (databaseUrl: string, port: number) => {
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${port}`;
  return url.toString();
};

describe('store outage (PostgreSQL behind a cuttable proxy)', () => {
  let db: TestDatabase;
  let proxy: CuttableProxy;
  before(async () => {
    db = await createTestDatabase('postgres');
    const target = new URL(db.url);
    proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.listen();
  });
  after(async () => {
    await proxy.close();
    await db.drop();
  });

  it('a pooled connection lost in the middle of a transaction fails that transaction, not the process', async () => {
    const store = openStore(viaProxy(db.url, proxy.port));
    const uncaught: Error[] = [];
    const onUncaught = (err: Error) => void uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await sql`select 1`.execute(trx);
          proxy.cutOff(); // the checked-out client's socket is reset between two statements
          await sleep(200);
          await sql`select 1`.execute(trx);
        }),
      );
      const started = Date.now();
      assert.equal(await store.ping(), false, 'a new connection attempt into the black hole fails');
      assert.ok(Date.now() - started < 3500, `connect timeout is prompt (${Date.now() - started} ms)`);
      proxy.restore();
      assert.equal(await store.ping(), true, 'the pool reconnects by itself');
      assert.deepEqual(uncaught, []);
    } finally {
      proxy.restore();
      process.off('uncaughtException', onUncaught);
      await store.close();
    }
  });

  describe('a serve process', () => {
    let env: Record<string, string>;
    let node: ServeProcess;
    const statuses: number[] = [];
    const record = async (call: Promise<HttpResult>) => {
      const res = await call;
      statuses.push(res.status);
      return res;
    };
    const cli = async (args: string[]) => {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };

    before(async () => {
      env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_SCRYPT_COST: '14', D1AUTHZ_SYNC_INTERVAL_MS: '200' });
      await cli(['migrate']);
      node = await spawnServe(
        {
          ...env,
          D1AUTHZ_DATABASE_URL: viaProxy(db.url, proxy.port),
          // Cached records expire after 1 s, so during the cut the node really asks the store and falls
          // back on the outage grace (not merely on a fresh cache).
          D1AUTHZ_CLIENT_CACHE_TTL: '1',
          D1AUTHZ_STORE_OUTAGE_GRACE: '120',
        },
        await freePort(),
        ['--workers', '1'],
      );
    });
    after(() => node?.stop('SIGKILL'));

    it('keeps serving known clients, answers 503 + Retry-After for unknown ones and on /readyz, never 500, and recovers by itself', async (t) => {
      const known = JSON.parse(await cli(['client', 'create', 'known', '--json'])).client_secret as string;
      const unknown = JSON.parse(await cli(['client', 'create', 'unknown', '--json'])).client_secret as string;
      assert.equal((await record(tokenAt(node.origin, 'known', known))).status, 200);
      assert.equal((await record(httpCall(`${node.origin}/readyz`))).status, 200);

      proxy.cutOff();
      const cutAt = Date.now();
      await sleep(1200); // past the client cache TTL

      const timings: Record<string, number> = {};
      const timed = async (name: string, call: () => Promise<HttpResult>) => {
        const started = Date.now();
        const res = await record(call());
        timings[name] = Math.max(timings[name] ?? 0, Date.now() - started);
        return res;
      };
      for (let i = 0; i < 3; i++) {
        const res = await timed('known', () => tokenAt(node.origin, 'known', known));
        assert.equal(res.status, 200, 'a known client is served from memory during the outage');
        await sleep(400);
      }
      const refused = await timed('unknown', () => tokenAt(node.origin, 'unknown', unknown));
      assert.equal(refused.status, 503);
      assert.equal(refused.json.error, 'temporarily_unavailable');
      assert.match(String(refused.headers['retry-after']), /^\d+$/);
      const ready = await timed('readyz', () => httpCall(`${node.origin}/readyz`));
      assert.equal(ready.status, 503);
      assert.equal(ready.json.checks.store, 'failing');
      assert.equal((await record(httpCall(`${node.origin}${BASE_PATH}/.well-known/jwks.json`))).status, 200, 'the JWKS is in memory');
      for (const [name, ms] of Object.entries(timings)) assert.ok(ms < 5000, `${name} answered within ${ms} ms`);
      assert.equal(node.child.exitCode, null, 'the process is up');

      proxy.restore();
      const restoredAt = Date.now();
      await waitFor('/readyz 200 again', async () => (await record(httpCall(`${node.origin}/readyz`))).status === 200, 15_000, 100);
      const readyAfterMs = Date.now() - restoredAt;
      assert.equal((await record(tokenAt(node.origin, 'unknown', unknown))).status, 200, 'the client it could not load is served now');
      const fresh = JSON.parse(await cli(['client', 'create', 'fresh', '--json'])).client_secret as string;
      assert.equal((await record(tokenAt(node.origin, 'fresh', fresh))).status, 200, 'a client created after recovery works');
      await cli(['client', 'disable', 'known']);
      await waitFor('the change feed working again', async () => (await record(tokenAt(node.origin, 'known', known))).status === 401, 5000, 50);

      assert.deepEqual(
        statuses.filter((s) => s >= 500 && s !== 503),
        [],
        'no 5xx but the intended 503',
      );
      assert.ok(statuses.includes(503));
      const feedWarnings = node.output().split('\n').filter((l) => l.includes('change feed: cannot read changes')).length;
      assert.ok(feedWarnings >= 1 && feedWarnings <= 2, `the outage is logged once, not per poll (${feedWarnings})`);
      assert.ok(!/"level":(50|60)/.test(node.output()), 'no error logged');
      assert.equal(node.child.exitCode, null);
      assert.equal(await node.stop('SIGTERM'), 0);
      t.diagnostic(
        `cut for ${restoredAt - cutAt} ms; slowest answers while cut: ${Object.entries(timings)
          .map(([k, v]) => `${k} ${v} ms`)
          .join(', ')}; /readyz 200 again ${readyAfterMs} ms after restore`,
      );
    });
  });
});
