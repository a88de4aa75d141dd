/** /admin/v1/log-level: read or change the running level; under --workers it reaches every worker. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevelControl } from '../../cluster/log-level.js';
import { parseBody } from '../validation.js';

const body = z.object({ level: z.enum(LOG_LEVELS) }).strict();

export function logLevelRoutes(control: LogLevelControl) {
  return async (app: FastifyInstance) => {
    app.get('/log-level', async () => ({ level: control.get() }));
    app.put('/log-level', async (request) => {
      const { level } = parseBody(body, request.body);
      control.set(level);
      return { level };
    });
  };
}
