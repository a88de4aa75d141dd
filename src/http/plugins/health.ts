/** Liveness (the process answers) and readiness (it can issue tokens: store reachable, a signing key loaded). */
import type { FastifyInstance } from 'fastify';

export interface HealthOptions {
  readonly checks: Record<string, () => Promise<boolean> | boolean>;
}

const TIMEOUT_MS = 2000;

async function run(check: () => Promise<boolean> | boolean): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), TIMEOUT_MS)));
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export async function health(app: FastifyInstance, o: HealthOptions): Promise<void> {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const names = Object.keys(o.checks);
    const results = await Promise.all(names.map((n) => run(o.checks[n]!)));
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i] ? 'ok' : 'failing']));
    const ready = results.every(Boolean);
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'unready', checks });
  });
}
