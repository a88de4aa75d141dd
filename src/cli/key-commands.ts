import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/load.js';
import { minKeyActivationDelayMs, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../config/schema.js';
import { print, withServices, type GlobalOptions } from './context.js';

export function keyCommands(globals: () => GlobalOptions): Command {
  const keys = new Command('keys').description('manage token signing keys');
  keys
    .command('list')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const list = await s.keys.list();
        print(!!o.json, list, () => list.map((k) => `${k.kid}\t${k.alg}\t${k.state}\tactivates ${k.activateAt}\tretires ${k.retireAt ?? '-'}`).join('\n'));
      }),
    );
  keys
    .command('rotate')
    .description('publish a new key now; it signs after the activation delay, the old key stays published until its tokens expire')
    .addOption(new Option('--alg <alg>', 'signing algorithm').choices(SIGNING_ALGORITHMS))
    .option('--activate-in <seconds>', 'publish this long before signing (default D1AUTHZ_KEY_ACTIVATION_DELAY)', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
      return Number(v);
    })
    .option('--force', 'accept an --activate-in shorter than the propagation time (emergency: verifiers with a cached JWKS refuse tokens until they refetch)')
    .option('--json', 'JSON output')
    .action(async (o: { alg?: SigningAlgorithm; activateIn?: number; force?: boolean; json?: boolean }) =>
      withServices(globals(), async (s) => {
        const minMs = minKeyActivationDelayMs(s.config);
        if (o.activateIn !== undefined && o.activateIn * 1000 <= minMs && !o.force) {
          throw new ConfigError(
            `--activate-in must exceed D1AUTHZ_SYNC_INTERVAL_MS + D1AUTHZ_JWKS_MAX_AGE (${minMs / 1000} s): ` +
              'nodes and verifiers that have not seen the new key yet would meet tokens they cannot verify (--force to do it anyway)',
          );
        }
        const key = await s.keys.rotate({ alg: o.alg, activateInSeconds: o.activateIn });
        print(!!o.json, key, () => `new key ${key.kid} (${key.alg}) published now, signs from ${key.activateAt}`);
      }),
    );
  return keys;
}
