/** The web console's static files (built into dist/console by `npm run build`). */
import type { FastifyInstance } from 'fastify';

export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  app.get('/console', async (_request, reply) => reply.redirect('/console/'));
}
