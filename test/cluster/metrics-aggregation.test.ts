/**
 * GET /metrics under `serve --workers N` answers for the whole node (the sum over the live workers),
 * whichever worker the scrape lands on; with --workers 1 it is the one process's registry, as before.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { COLLECT_TIMEOUT_MS, SCRAPE_TIMEOUT_MS } from '../../src/cluster/metrics-ipc.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { BASE_PATH, isAlive, logLines, tokenAt } from '../helpers/http.js';
import { cliEnv, runCli, spawnServe, type ServeProcess } from '../helpers/process.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN_ROUTE = `${BASE_PATH}/oauth2/token`;

interface Scrape {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly ms: number;
}

/** On a connection of its own, so that the cluster hands each scrape to a worker afresh. */
function scrape(origin: string, timeoutMs = 10_000): Promise<Scrape> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(`${origin}/metrics`, { agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, ms: Date.now() - started }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from /metrics within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** The value of the sample `name{labels}` (labels in any order), or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const series = line.slice(0, line.lastIndexOf(' '));
    const bare = series.split('{')[0];
    if (bare !== name) continue;
    const have = series.includes('{') ? series.slice(series.indexOf('{') + 1, -1).split(',') : [];
    if (wanted.length === have.length && wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The admin listener of each started node, where /metrics is served. */
const adminOrigins = new Map<ServeProcess, string>();
const adminOf = (serve: ServeProcess) => adminOrigins.get(serve)!;
async function serveWithAdmin(env: Record<string, string>, args: string[]): Promise<ServeProcess> {
  const adminPort = await freePort();
  const serve = await spawnServe({ ...env, D1AUTHZ_ADMIN_PORT: String(adminPort) }, await freePort(), args);
  adminOrigins.set(serve, `http://127.0.0.1:${adminPort}`);
  return serve;
}

const requestLines = (serve: ServeProcess) => logLines(serve.output()).filter((l) => l.msg === 'request');
const issuedBy = (serve: ServeProcess) => {
  const perPid = new Map<number, number>();
  for (const l of requestLines(serve)) if (l.route === TOKEN_ROUTE && l.outcome === 'issued') perPid.set(l.pid, (perPid.get(l.pid) ?? 0) + 1);
  return perPid;
};
const sum = (perPid: Map<number, number>) => [...perPid.values()].reduce((a, b) => a + b, 0);
const workerPids = (serve: ServeProcess, msg: string): number[] => logLines(serve.output()).filter((l) => l.msg === msg).map((l) => l.workerPid as number);

describe('/metrics of a node', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let secret: string;
  before(async () => {
    db = await createTestDatabase();
    env = cliEnv(db.url, randomBytes(32).toString('base64'), { D1AUTHZ_SCRYPT_COST: '14' });
    assert.equal((await runCli(['migrate'], env)).code, 0); // CLI commands use an existing store, they never create one
    const created = await runCli(['client', 'create', 'metrics', '--json'], env);
    assert.equal(created.code, 0, created.stderr);
    secret = JSON.parse(created.stdout).client_secret;
  });
  after(() => db.drop());

  /** n token requests, each on a fresh connection; a few at a time. */
  const tokens = async (origin: string, n: number, clientSecret = secret) => {
    for (let i = 0; i < n; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => tokenAt(origin, 'metrics', clientSecret, 5000)));
      for (const res of batch) assert.equal(res.status, clientSecret === secret ? 200 : 401);
    }
  };

  describe('two workers', () => {
    let serve: ServeProcess;
    before(async () => {
      serve = await serveWithAdmin(env, ['--workers', '2']);
      await waitFor('both workers listening', () => workerPids(serve, 'worker listening').length === 2, 30_000);
    });
    after(() => serve.stop('SIGKILL'));

    it('every scrape, whichever worker answers it, reports the sum over both workers', async () => {
      await tokens(serve.origin, 40);
      await tokens(serve.origin, 4, 'wrong-secret-wrong-secret-wrong-secret');
      const served = await waitFor('the request lines', () => sum(issuedBy(serve)) === 40 && issuedBy(serve), 5000);
      assert.equal(served.size, 2, `both workers issued tokens: ${JSON.stringify([...served])}`);

      for (let i = 0; i < 8; i++) {
        const s = await scrape(adminOf(serve));
        assert.equal(s.status, 200, s.text);
        assert.match(String(s.headers['content-type']), /^text\/plain/);
        assert.equal(sample(s.text, 'd1authz_token_requests_total', { outcome: 'issued' }), 40);
        assert.equal(sample(s.text, 'd1authz_token_requests_total', { outcome: 'invalid_client' }), 4);
        assert.equal(sample(s.text, 'd1authz_http_request_duration_seconds_count', { route: TOKEN_ROUTE, status: '200' }), 40);
        assert.equal(sample(s.text, 'd1authz_http_request_duration_seconds_bucket', { route: TOKEN_ROUTE, status: '200', le: '+Inf' }), 40);
        // prom-client's aggregators for the process metrics: CPU summed, the version once, no start time.
        assert.ok(sample(s.text, 'd1authz_process_cpu_seconds_total')! > 0);
        assert.equal(s.text.match(/^d1authz_nodejs_version_info\{/gm)?.length, 1);
        assert.doesNotMatch(s.text, /process_start_time_seconds/);
        const series = s.text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
        assert.equal(new Set(series).size, series.length, 'no series twice');
        assert.ok(!s.text.includes(secret));
      }
      const scrapedBy = () => new Set(requestLines(serve).filter((l) => l.route === '/metrics' && l.status === 200).map((l) => l.pid));
      await waitFor('both workers having answered scrapes', () => scrapedBy().size === 2, 5000);
    });

    it('a worker that does not answer makes the scrape a 503 in the OAuth error shape within the timeout, not a hang', async () => {
      const [stopped] = workerPids(serve, 'worker listening');
      process.kill(stopped!, 'SIGSTOP');
      let scrapes: Promise<Scrape>[] | undefined;
      try {
        // A scrape handed to the stopped worker waits for it; the others reach the running one.
        scrapes = [scrape(adminOf(serve)), scrape(adminOf(serve))];
        const first = await Promise.race(scrapes);
        assert.equal(first.status, 503);
        assert.deepEqual(JSON.parse(first.text), { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' });
        assert.equal(first.headers['retry-after'], '1');
        assert.ok(first.ms < SCRAPE_TIMEOUT_MS + 1000, `answered in ${first.ms} ms`);
      } finally {
        process.kill(stopped!, 'SIGCONT');
      }
      await Promise.all(scrapes ?? []);
      await waitFor('scrapes answered again', async () => (await scrape(adminOf(serve))).status === 200, 10_000);
    });

    it('while a killed worker is replaced, scrapes answer at once with the sum over the live workers', async () => {
      const [killed, survivor] = workerPids(serve, 'worker listening');
      process.kill(killed!, 'SIGKILL');
      await waitFor('the primary noticing the exit', () => logLines(serve.output()).some((l) => l.workerPid === killed && l.msg.startsWith('worker exited unexpectedly')), 5000, 10);
      // The replacement is forked and starting now: it is not asked until it listens.
      let duringStart = 0;
      while (workerPids(serve, 'worker listening').length < 3) {
        const s = await scrape(adminOf(serve));
        assert.equal(s.status, 200, s.text);
        assert.ok(s.ms < COLLECT_TIMEOUT_MS, `answered in ${s.ms} ms, without waiting for the starting worker`);
        assert.equal(sample(s.text, 'd1authz_token_requests_total', { outcome: 'issued' }), issuedBy(serve).get(survivor!));
        duringStart++;
      }
      assert.ok(duringStart > 0 && !isAlive(killed!));
      await tokens(serve.origin, 10);
      const live = await waitFor('the request lines', () => sum(issuedBy(serve)) === 50 && issuedBy(serve), 5000);
      live.delete(killed!);
      const expected = sum(live);
      for (let i = 0; i < 4; i++) assert.equal(sample((await scrape(adminOf(serve))).text, 'd1authz_token_requests_total', { outcome: 'issued' }), expected);
      assert.equal(await serve.stop('SIGTERM'), 0);
    });
  });

  it("one worker: the process's own registry, as before", async () => {
    const serve = await serveWithAdmin(env, ['--workers', '1']);
    try {
      const start = sample((await scrape(adminOf(serve))).text, 'd1authz_token_requests_total', { outcome: 'issued' }) ?? 0;
      await tokens(serve.origin, 12);
      for (let i = 0; i < 3; i++) {
        const s = await scrape(adminOf(serve));
        assert.equal(s.status, 200);
        assert.equal(sample(s.text, 'd1authz_token_requests_total', { outcome: 'issued' }), start + 12);
      }
      assert.doesNotMatch(serve.output(), /worker started/);
    } finally {
      await serve.stop('SIGKILL');
    }
  });
});
