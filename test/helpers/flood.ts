/**
 * A flood of wrong secrets, as an attacker with one machine sends it: `connections` keep-alive
 * connections from `localAddress`, each sending the next request as soon as the last is answered,
 * half for a known client id, half for ids that do not exist. Runs in a child process of its own
 * (startFlood), so the flood's event loop is not the test's, and is bounded in time and count.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface FloodOptions {
  readonly tokenUrl: string;
  readonly connections: number;
  readonly localAddress: string;
  /** The known client id attacked; the other half of the requests use ids that do not exist. */
  readonly clientId: string;
  readonly maxMs: number;
  readonly maxRequests: number;
}

export interface FloodSummary {
  readonly sent: number;
  readonly statuses: Record<string, number>;
  readonly errors: number;
}

export interface Flood {
  /** Resolves once `n` answers have come back. */
  answered(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<FloodSummary>;
}

const SELF = fileURLToPath(import.meta.url);

export function startFlood(options: FloodOptions): Flood {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let answers = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    out += d;
    for (const m of d.matchAll(/answered (\d+)/g)) answers = Number(m[1]);
    for (const w of waiters.filter((w) => answers >= w.n)) w.resolve();
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    answered: (n, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        if (answers >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`flood: ${answers} answers, not ${n}, within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`flood printed no summary: ${out.slice(-500)}`);
      return JSON.parse(line) as FloodSummary;
    },
  };
}

async function runFlood(o: FloodOptions): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: o.connections, localAddress: o.localAddress });
  const deadline = Date.now() + o.maxMs;
  const statuses: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  let errors = 0;
  let stopping = false;
  const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      // Distinct wrong secrets: identical ones would share one hash.
      const id = i % 2 ? o.clientId : `nobody-${i}`;
      const req = request(o.tokenUrl, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, `wrong-${i}-${'x'.repeat(32)}`) },
        timeout: 20_000,
      }, (res) => {
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
        res.resume();
        res.on('end', resolve);
        res.on('error', resolve);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end('grant_type=client_credentials');
    });
  const report = setInterval(() => process.stdout.write(`answered ${answered}\n`), 50);
  const loop = async () => {
    while (!stopping && Date.now() < deadline && sent < o.maxRequests) {
      await one(sent++);
      answered++;
    }
  };
  process.on('SIGTERM', () => (stopping = true));
  await Promise.all(Array.from({ length: o.connections }, loop));
  clearInterval(report);
  agent.destroy();
  process.stdout.write(`answered ${answered}\n` + JSON.stringify({ sent, statuses, errors }) + '\n');
}

if (process.argv[1] === SELF) await runFlood(JSON.parse(process.argv[2]!) as FloodOptions);
