import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

export async function metricsRoute(app: FastifyInstance, o: { metrics: Metrics }): Promise<void> {
  app.get('/metrics', async (_request, reply) =>
    reply.header('cache-control', 'no-store').type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics()),
  );
}
