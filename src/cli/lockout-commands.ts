/** `d1-authz lockout list|clear`: the operator's view of the brute-force lockout counters. */
import { Command } from 'commander';
import { lockoutAddress } from '../domain/lockout/lockout-address.js';
import { lockoutSettings, openLockoutCounters } from '../lockout.js';
import { withServices, type GlobalOptions } from './context.js';
import { emit, printDone, printTable } from './output.js';

export function lockoutCommands(globals: () => GlobalOptions): Command {
  const lockout = new Command('lockout').description('brute-force lockout of source addresses (counters in the store, or Redis with D1AUTHZ_REDIS_URL)');
  lockout
    .command('list')
    .description('addresses and (client id, address) pairs locked now or with failures in the window')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const counters = await openLockoutCounters(s.config, s.store, s.logger);
        try {
          const now = Date.now();
          const rows = (await counters.list(now, lockoutSettings(s.config))).map((r) => ({
            address: r.address,
            client_id: r.clientId,
            locked: r.lockedUntil > now,
            locked_until: r.lockedUntil > now ? new Date(r.lockedUntil).toISOString() : null,
            lock_seconds: Math.ceil(r.lockMs / 1000),
            failures_in_window: r.failures,
            last_failure_at: new Date(r.lastFailureAt).toISOString(),
          }));
          emit(o, rows, () =>
            printTable(
              rows,
              [
                ['ADDRESS', (r) => r.address],
                ['CLIENT', (r) => r.client_id ?? '(every client)'],
                ['LOCKED UNTIL', (r) => r.locked_until],
                ['LOCK S', (r) => r.lock_seconds],
                ['FAILURES', (r) => r.failures_in_window],
                ['LAST FAILURE', (r) => r.last_failure_at],
              ],
              'no address locked, no failures in the window',
            ),
          );
        } finally {
          await counters.close();
        }
      }),
    );
  lockout
    .command('clear')
    .description('forget the counters (and lift the locks) of an address or a client id; running servers follow within a second')
    .argument('<address|client_id>')
    .option('--json', 'JSON output')
    .action(async (subject: string, o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const counters = await openLockoutCounters(s.config, s.store, s.logger);
        try {
          // An address is keyed as the lockout keys it (IPv6 by /64); anything else may be a client id.
          const address = lockoutAddress(subject);
          let cleared = await counters.clear(subject);
          if (address !== undefined && address !== subject) cleared += await counters.clear(address);
          emit(o, { cleared }, () => printDone(`cleared ${cleared} counter(s) of ${subject}`));
        } finally {
          await counters.close();
        }
      }),
    );
  return lockout;
}
