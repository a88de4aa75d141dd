import { Command, InvalidArgumentError, Option } from 'commander';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../config/schema.js';
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
    .option('--json', 'JSON output')
    .action(async (o: { alg?: SigningAlgorithm; activateIn?: number; json?: boolean }) =>
      withServices(globals(), async (s) => {
        const key = await s.keys.rotate({ alg: o.alg, activateInSeconds: o.activateIn });
        print(!!o.json, key, () => `new key ${key.kid} (${key.alg}) published now, signs from ${key.activateAt}`);
      }),
    );
  return keys;
}
