import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/load.js';
import { minKeyActivationDelayMs, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../config/schema.js';
import type { KeyInfo } from '../domain/keys/key-service.js';
import { withServices, type GlobalOptions } from './context.js';
import { emit, printDone, printTable, type JsonFlag } from './output.js';

const keyJson = (k: KeyInfo) => ({ kid: k.kid, alg: k.alg, state: k.state, created_at: k.createdAt, activate_at: k.activateAt, retire_at: k.retireAt });

export function keyCommands(globals: () => GlobalOptions): Command {
  const keys = new Command('keys').description('manage token signing keys');
  keys
    .command('list')
    .description('list the signing keys: kid, algorithm, state (pending | signing | published | retired), when each activates and retires')
    .option('--json', 'print a JSON array of keys')
    .action(async (o: JsonFlag) =>
      withServices(globals(), async (s) => {
        const list = await s.keys.list();
        emit(o, list.map(keyJson), () =>
          printTable(
            list,
            [
              ['KID', (k) => k.kid],
              ['ALG', (k) => k.alg],
              ['STATE', (k) => k.state],
              ['ACTIVATES', (k) => k.activateAt],
              ['RETIRES', (k) => k.retireAt],
            ],
            '(no signing keys yet: "d1-authz serve" creates the first, "d1-authz keys rotate" adds one)',
          ),
        );
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
    .option('--json', 'print the new key as JSON')
    .action(async (o: JsonFlag & { alg?: SigningAlgorithm; activateIn?: number; force?: boolean }) =>
      withServices(globals(), async (s) => {
        const minMs = minKeyActivationDelayMs(s.config);
        if (o.activateIn !== undefined && o.activateIn * 1000 <= minMs && !o.force) {
          throw new ConfigError(
            `--activate-in must exceed D1AUTHZ_SYNC_INTERVAL_MS + D1AUTHZ_JWKS_MAX_AGE (${minMs / 1000} s): ` +
              'nodes and verifiers that have not seen the new key yet would meet tokens they cannot verify (--force to do it anyway)',
          );
        }
        const key = await s.keys.rotate({ alg: o.alg, activateInSeconds: o.activateIn });
        emit(o, keyJson(key), () => printDone(`new key ${key.kid} (${key.alg}) published now, signs from ${key.activateAt}`));
      }),
    );
  return keys;
}
