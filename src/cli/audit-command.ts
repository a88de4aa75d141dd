/** `d1-authz audit`: reads the audit trail, newest first. */
import { Command, InvalidArgumentError } from 'commander';
import type { AuditRow } from '../store/audit-repository.js';
import { withServices, type GlobalOptions } from './context.js';
import { emit, printTable } from './output.js';

const MAX_LIMIT = 10_000;

const isoTime = (v: string) => {
  const t = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(t)) throw new InvalidArgumentError('must be an ISO-8601 date or time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z');
  return t;
};
const limit = (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_LIMIT) throw new InvalidArgumentError(`must be 1 to ${MAX_LIMIT}`);
  return Number(v);
};

export interface AuditView {
  readonly id: number;
  readonly at: string;
  readonly type: string;
  readonly actor: string | null;
  readonly client_id: string | null;
  readonly address: string | null;
  readonly correlation_id: string | null;
  readonly details: unknown;
}

const view = (r: AuditRow): AuditView => ({
  id: r.id,
  at: new Date(r.at).toISOString(),
  type: r.type,
  actor: r.actor,
  client_id: r.client_id,
  address: r.address,
  correlation_id: r.correlation_id,
  details: JSON.parse(r.details) as unknown,
});

export function auditCommand(globals: () => GlobalOptions): Command {
  return new Command('audit')
    .description('read the audit trail, newest first')
    .option('--client <id>', 'events of this client')
    .option('--event <type>', 'events of this type, e.g. token.issued, client.authentication_failed, client.updated')
    .option('--since <iso>', 'events at or after this time', isoTime)
    .option('--until <iso>', 'events before this time', isoTime)
    .option('--limit <n>', `at most this many events (1 to ${MAX_LIMIT}, default 100)`, limit)
    .option('--json', 'JSON output')
    .action(async (o: { client?: string; event?: string; since?: number; until?: number; limit?: number; json?: boolean }) =>
      withServices(globals(), async (s) => {
        const rows = await s.repos.audit.find({ clientId: o.client, type: o.event, since: o.since, until: o.until, limit: o.limit ?? 100 });
        const events = rows.map(view);
        emit(o, events, () =>
          printTable(
            events,
            [
              ['AT', (e) => e.at],
              ['EVENT', (e) => e.type],
              ['CLIENT', (e) => e.client_id],
              ['ACTOR', (e) => e.actor],
              ['ADDRESS', (e) => e.address],
              ['CORRELATION ID', (e) => e.correlation_id],
              ['DETAILS', (e) => JSON.stringify(e.details)],
            ],
            'no events',
          ),
        );
      }),
    );
}
