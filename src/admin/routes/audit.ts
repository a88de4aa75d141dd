/** /admin/v1/audit (the trail, newest first, filtered and paged) and /admin/v1/stats (the console's overview). */
import type { FastifyInstance } from 'fastify';
import type { AuditRepository, AuditRow } from '../../store/audit-repository.js';
import type { Metrics } from '../../http/metrics.js';
import { badRequest } from '../errors.js';

const view = (r: AuditRow) => ({
  id: Number(r.id),
  at: new Date(Number(r.at)).toISOString(),
  type: r.type,
  actor: r.actor,
  client_id: r.client_id,
  address: r.address,
  correlation_id: r.correlation_id,
  details: JSON.parse(r.details) as unknown,
});

function time(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const t = typeof value === 'string' && value.length <= 40 ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw badRequest(`${name} must be an ISO-8601 time`);
  return t;
}

const text = (name: string, value: unknown, max = 128): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > max) throw badRequest(`${name} is malformed`);
  return value;
};

const CURSOR = /^(\d{1,15}):(\d{1,15})$/;

/** p99 of the token endpoint's 200 answers in this process, from the latency histogram (upper bucket bound). */
async function tokenP99Ms(metrics: Metrics | undefined): Promise<number | null> {
  const metric = metrics?.registry.getSingleMetric('d1authz_http_request_duration_seconds');
  if (!metric) return null;
  const { values } = await metric.get();
  const buckets = values
    .filter((v) => (v as { metricName?: string }).metricName === 'd1authz_http_request_duration_seconds_bucket' && v.labels.route === metrics!.tokenRoute && String(v.labels.status) === '200')
    .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), n: v.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.n ?? 0;
  if (total === 0) return null;
  const bucket = buckets.find((b) => b.n >= 0.99 * total)!;
  return Number.isFinite(bucket.le) ? bucket.le * 1000 : null;
}

export function auditRoutes(audit: AuditRepository, metrics: Metrics | undefined, now: () => number = Date.now) {
  return async (app: FastifyInstance) => {
    app.get('/audit', async (request, reply) => {
      const q = (request.query ?? {}) as Record<string, unknown>;
      const limitText = q.limit ?? '100';
      if (typeof limitText !== 'string' || !/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) throw badRequest('limit must be 1 to 1000');
      const limit = Number(limitText);
      const cursor = text('cursor', q.cursor, 40);
      const m = cursor === undefined ? null : CURSOR.exec(cursor);
      if (cursor !== undefined && !m) throw badRequest('cursor is malformed');
      const clientId = text('client', q.client);
      const type = text('event', q.event, 64);
      const since = time('since', q.since);
      const until = time('until', q.until);
      const rows = await audit.find({
        ...(clientId !== undefined ? { clientId } : {}),
        ...(type !== undefined ? { type } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
        ...(m ? { before: { at: Number(m[1]), id: Number(m[2]) } } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return reply.header('cache-control', 'no-store').send({ items: page.map(view), next_cursor: rows.length > limit && last ? `${Number(last.at)}:${Number(last.id)}` : null });
    });

    app.get('/stats', async (request, reply) => {
      const q = (request.query ?? {}) as Record<string, unknown>;
      const minutesText = q.minutes ?? '60';
      if (typeof minutesText !== 'string' || !/^\d{1,4}$/.test(minutesText) || Number(minutesText) < 1 || Number(minutesText) > 1440) throw badRequest('minutes must be 1 to 1440');
      const minutes = Number(minutesText);
      const nowMinute = Math.floor(now() / 60_000);
      const first = nowMinute - minutes + 1;
      const counts = await audit.countPerMinute(['token.issued', 'client.authentication_failed', 'client.locked_out'], first * 60_000);
      const series = (type: string) => {
        const out = new Array<number>(minutes).fill(0);
        for (const c of counts) if (c.type === type && c.minute >= first && c.minute <= nowMinute) out[c.minute - first]! += c.n;
        return out;
      };
      const failures = await audit.find({ type: 'client.authentication_failed', since: first * 60_000, limit: 10_000 });
      const byReason: Record<string, number> = {};
      for (const f of failures) {
        const presented = (JSON.parse(f.details) as { reason?: unknown }).reason;
        const reason = typeof presented === 'string' ? presented : 'unknown';
        byReason[reason] = (byReason[reason] ?? 0) + 1;
      }
      return reply.header('cache-control', 'no-store').send({
        minutes: Array.from({ length: minutes }, (_, i) => new Date((first + i) * 60_000).toISOString()),
        issued: series('token.issued'),
        failed: series('client.authentication_failed'),
        locked_out: series('client.locked_out'),
        failures_by_reason: byReason,
        p99_ms: await tokenP99Ms(metrics),
      });
    });
  };
}
