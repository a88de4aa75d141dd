import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/load.js';
import { minKeyActivationDelayMs } from '../config/schema.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../model/signing.js';
import { KeyAdminError } from '../domain/keys/key-service.js';
import { keyJson } from '../domain/keys/key-json.js';
import { Pkcs11KeyProvider } from '../domain/keys/pkcs11/pkcs11-provider.js';
import { withServices, type GlobalOptions } from './context.js';
import { UsageError } from './exit-codes.js';
import { emit, printDone, printTable, type JsonFlag } from './output.js';

const wholeSeconds = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
};

export function keyCommands(globals: () => GlobalOptions): Command {
  const keys = new Command('keys').description('manage token signing keys');
  keys
    .command('list')
    .description('list the signing keys: kid, algorithm, state (pending | signing | published | standby | retired | revoked | destroyed), when each activates and retires')
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
              ['PROVIDER', (k) => k.provider],
              ['STATE', (k) => k.state],
              ['ACTIVATES', (k) => k.activateAt],
              ['RETIRES', (k) => k.retireAt],
              ['REVOKED', (k) => (k.revokedAt ? `${k.revokedAt}: ${k.revokeReason}` : null)],
              ['DESTROYED', (k) => k.destroyedAt],
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
    .option('--activate-in <seconds>', 'publish this long before signing (default D1AUTHZ_KEY_ACTIVATION_DELAY)', wholeSeconds)
    .option('--force', 'accept an --activate-in shorter than the propagation time (emergency: verifiers with a cached JWKS refuse tokens until they refetch)')
    .option('--json', 'print the new key as JSON')
    .action(async (o: JsonFlag & { alg?: SigningAlgorithm; activateIn?: number; force?: boolean }) =>
      withServices(globals(), async (s) => {
        checkActivation(minKeyActivationDelayMs(s.config), o);
        const key = await s.keys.rotate({ alg: o.alg, activateInSeconds: o.activateIn });
        emit(o, keyJson(key), () => printDone(`new key ${key.kid} (${key.alg}) published now, signs from ${key.activateAt}`));
      }),
    );
  keys
    .command('revoke <kid>')
    .description('withdraw a key at once (compromise): it leaves the JWKS and the signing set, its tokens become inactive; the standby key signs in its place')
    .requiredOption('--reason <text>', 'why (kept with the key, shown by keys list)')
    .option('--json', 'print {"kid", "promoted_kid", "standby_kid"}')
    // A kid is base64url: one in 64 begins with "-", which must be read as the kid, not as an option
    // (and no short option, -h included, may swallow it).
    .allowUnknownOption()
    .helpOption('--help', 'display help for command')
    .action(async (kid: string, o: JsonFlag & { reason: string }) =>
      withServices(globals(), async (s) => {
        if (o.reason.trim() === '') throw new UsageError('--reason must not be empty');
        const result = await s.keys.revoke(kid, o.reason.trim());
        emit(o, { kid: result.kid, promoted_kid: result.promotedKid, standby_kid: result.standbyKid }, () =>
          printDone([
            `key ${result.kid} revoked: it leaves every node's JWKS within one sync interval (${s.config.syncIntervalMs} ms), its tokens are inactive`,
            result.promotedKid ? `the standby key ${result.promotedKid} signs from now on` : 'it was not the signing key: signing is unchanged',
            result.standbyKid ? `new standby key ${result.standbyKid}` : '',
          ]
            .filter(Boolean)
            .join('\n')),
        );
      }),
    );
  keys
    .command('import-hsm')
    .description('adopt a key pair generated in the HSM by the bank\'s own ceremony (D1AUTHZ_KEY_PROVIDER=pkcs11); it is published now and signs after the activation delay')
    .requiredOption('--label <label>', 'CKA_LABEL of the private key object')
    .addOption(new Option('--alg <alg>', 'for an RSA key: RS256 or PS256 (an EC P-256 key signs ES256)').choices(['RS256', 'PS256']))
    .option('--activate-in <seconds>', 'publish this long before signing (default D1AUTHZ_KEY_ACTIVATION_DELAY)', wholeSeconds)
    .option('--force', 'accept an --activate-in shorter than the propagation time')
    .option('--json', 'print the adopted key as JSON')
    .action(async (o: JsonFlag & { label: string; alg?: 'RS256' | 'PS256'; activateIn?: number; force?: boolean }) =>
      withServices(globals(), async (s) => {
        const hsm = s.keyProviders.active;
        if (!(hsm instanceof Pkcs11KeyProvider)) throw new KeyAdminError('keys import-hsm needs D1AUTHZ_KEY_PROVIDER=pkcs11');
        checkActivation(minKeyActivationDelayMs(s.config), o);
        const rsaAlg = o.alg ?? (s.config.signingAlg === 'PS256' ? 'PS256' : 'RS256');
        const key = await s.keys.adopt(await hsm.importByLabel(o.label, { rsaAlg }), { activateInSeconds: o.activateIn });
        emit(o, keyJson(key), () => printDone(`key ${key.kid} (${key.alg}, label "${o.label}") published now, signs from ${key.activateAt}`));
      }),
    );
  return keys;
}

function checkActivation(minMs: number, o: { activateIn?: number; force?: boolean }): void {
  if (o.activateIn !== undefined && o.activateIn * 1000 <= minMs && !o.force) {
    throw new ConfigError(
      `--activate-in must exceed D1AUTHZ_SYNC_INTERVAL_MS + D1AUTHZ_JWKS_MAX_AGE (${minMs / 1000} s): ` +
        'nodes and verifiers that have not seen the new key yet would meet tokens they cannot verify (--force to do it anyway)',
    );
  }
}

export function masterKeyCommands(globals: () => GlobalOptions): Command {
  const master = new Command('master-key').description('manage the master key that seals the local signing keys');
  master
    .command('rotate')
    .description('re-seal every local key under D1AUTHZ_MASTER_KEY(_FILE), in one transaction; D1AUTHZ_MASTER_KEY_PREVIOUS_FILE names the key being replaced')
    .option('--json', 'print {"rewrapped": N}')
    .action(async (o: JsonFlag) =>
      withServices(globals(), async (s) => {
        const rewrapped = await s.keys.rewrapLocalKeys();
        emit(o, { rewrapped }, () => printDone(`${rewrapped} key(s) re-sealed under the new master key; the previous master key opens none of them now (remove D1AUTHZ_MASTER_KEY_PREVIOUS_FILE)`));
      }),
    );
  return master;
}
