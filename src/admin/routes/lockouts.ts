/** /admin/v1/lockouts: the same view and clearing as `d1-authz lockout list|clear`. */
import type { FastifyInstance } from 'fastify';
import type { LockoutCounters } from '../../store/lockout-counters.js';
import type { LockoutSettings } from '../../model/lockout-policy.js';
import { lockoutAddress } from '../../domain/lockout/lockout-address.js';

export function lockoutRoutes(open: () => Promise<LockoutCounters>, settings: LockoutSettings, now: () => number = Date.now) {
  return async (app: FastifyInstance) => {
    app.get('/lockouts', async (_request, reply) => {
      const counters = await open();
      try {
        const at = now();
        const items = (await counters.list(at, settings)).map((r) => ({
          address: r.address,
          client_id: r.clientId,
          locked: r.lockedUntil > at,
          locked_until: r.lockedUntil > at ? new Date(r.lockedUntil).toISOString() : null,
          lock_seconds: Math.ceil(r.lockMs / 1000),
          failures_in_window: r.failures,
          last_failure_at: new Date(r.lastFailureAt).toISOString(),
        }));
        return reply.header('cache-control', 'no-store').send({ items });
      } finally {
        await counters.close();
      }
    });
    app.delete<{ Params: { subject: string } }>('/lockouts/:subject', async (request) => {
      const counters = await open();
      try {
        const subject = request.params.subject;
        const address = lockoutAddress(subject);
        let cleared = await counters.clear(subject);
        if (address !== undefined && address !== subject) cleared += await counters.clear(address);
        return { cleared };
      } finally {
        await counters.close();
      }
    });
  };
}
