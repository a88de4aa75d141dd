/** /admin/v1/keys: list and rotate, with the same propagation guard as `d1-authz keys rotate`. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { minKeyActivationDelayMs, type Config } from '../../config/schema.js';
import { SIGNING_ALGORITHMS } from '../../model/signing.js';
import type { KeyService } from '../../domain/keys/key-service.js';
import { keyJson } from '../../domain/keys/key-json.js';
import { badRequest } from '../errors.js';
import { parseBody } from '../validation.js';
import { actorOf } from '../admin-auth.js';

const rotateBody = z.object({ alg: z.enum(SIGNING_ALGORITHMS).optional(), activate_in: z.number().int().min(0).max(7 * 86_400).optional(), force: z.boolean().optional() }).strict();


export function keyRoutes(keys: KeyService, config: Pick<Config, 'syncIntervalMs' | 'jwksMaxAge'>) {
  return async (app: FastifyInstance) => {
    app.get('/keys', async (_request, reply) => reply.header('cache-control', 'no-store').send({ items: (await keys.list()).map(keyJson) }));
    app.post('/keys/rotate', async (request, reply) => {
      const b = parseBody(rotateBody, request.body ?? {});
      const minMs = minKeyActivationDelayMs(config);
      if (b.activate_in !== undefined && b.activate_in * 1000 <= minMs && !b.force) {
        throw badRequest(
          `activate_in must exceed D1AUTHZ_SYNC_INTERVAL_MS + D1AUTHZ_JWKS_MAX_AGE (${minMs / 1000} s): verifiers that have not seen the new key yet would refuse its tokens (force to do it anyway)`,
        );
      }
      const key = await keys.actingAs(actorOf(request)).rotate({ alg: b.alg, activateInSeconds: b.activate_in });
      return reply.code(201).header('cache-control', 'no-store').send(keyJson(key));
    });
  };
}
