import type { FastifyInstance } from 'fastify';
import { nodeMetricsSource } from '../../cluster/metrics-ipc.js';
import { temporarilyUnavailable } from '../../protocol/oauth-error.js';
import type { Metrics } from '../metrics.js';

export async function metricsRoute(app: FastifyInstance, o: { metrics: Metrics }): Promise<void> {
  // A cluster worker answers for the whole node (src/cluster/metrics-ipc.ts): a scrape lands on any one worker.
  const nodeMetrics = nodeMetricsSource(o.metrics.registry);
  const scrape = nodeMetrics
    ? () => nodeMetrics().catch((err: Error) => Promise.reject(temporarilyUnavailable(`node metrics: ${err.message}`)))
    : () => o.metrics.registry.metrics();
  app.get('/metrics', async (_request, reply) =>
    reply.header('cache-control', 'no-store').type(o.metrics.registry.contentType).send(await scrape()),
  );
}
