import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/load.js';
import { minKeyActivationDelayMs, SIGNING_ALGORITHMS, type SigningAlgorithm } from '../config/schema.js';
import { KeyAdminError } from '../domain/keys/key-service.js';
import { Pkcs11KeyProvider } from '../domain/keys/pkcs11/pkcs11-provider.js';
import { print, withServices, type GlobalOptions } from './context.js';

const wholeSeconds = (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
};

export function keyCommands(globals: () => GlobalOptions): Command {
  const keys = new Command('keys').description('manage token signing keys');
  keys
    .command('list')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const list = await s.keys.list();
        print(!!o.json, list, () =>
          list
            .map(
              (k) =>
                `${k.kid}\t${k.alg}\t${k.provider}\t${k.state}\tactivates ${k.activateAt ?? '-'}\tretires ${k.retireAt ?? '-'}` +
                (k.revokedAt ? `\trevoked ${k.revokedAt}: ${k.revokeReason}` : '') +
                (k.destroyedAt ? `\tdestroyed ${k.destroyedAt}` : ''),
            )
            .join('\n'),
        );
      }),
    );
  keys
    .command('rotate')
    .description('publish a new key now; it signs after the activation delay, the old key stays published until its tokens expire')
    .addOption(new Option('--alg <alg>', 'signing algorithm').choices(SIGNING_ALGORITHMS))
    .option('--activate-in <seconds>', 'publish this long before signing (default D1AUTHZ_KEY_ACTIVATION_DELAY)', wholeSeconds)
    .option('--force', 'accept an --activate-in shorter than the propagation time (emergency: verifiers with a cached JWKS refuse tokens until they refetch)')
    .option('--json', 'JSON output')
    .action(async (o: { alg?: SigningAlgorithm; activateIn?: number; force?: boolean; json?: boolean }) =>
      withServices(globals(), async (s) => {
        checkActivation(minKeyActivationDelayMs(s.config), o);
        const key = await s.keys.rotate({ alg: o.alg, activateInSeconds: o.activateIn });
        print(!!o.json, key, () => `new key ${key.kid} (${key.alg}) published now, signs from ${key.activateAt}`);
      }),
    );
  keys
    .command('revoke <kid>')
    .description('withdraw a key at once (compromise): it leaves the JWKS and the signing set, its tokens become inactive; the standby key signs in its place')
    .requiredOption('--reason <text>', 'why (kept with the key, shown by keys list)')
    .option('--json', 'JSON output')
    .action(async (kid: string, o: { reason: string; json?: boolean }) =>
      withServices(globals(), async (s) => {
        if (o.reason.trim() === '') throw new InvalidArgumentError('--reason must not be empty');
        const result = await s.keys.revoke(kid, o.reason.trim());
        print(!!o.json, result, () =>
          [
            `key ${result.kid} revoked: it leaves every node's JWKS within one sync interval (${s.config.syncIntervalMs} ms), its tokens are inactive`,
            result.promotedKid ? `the standby key ${result.promotedKid} signs from now on` : 'it was not the signing key: signing is unchanged',
            result.standbyKid ? `new standby key ${result.standbyKid}` : '',
          ]
            .filter(Boolean)
            .join('\n'),
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
    .option('--json', 'JSON output')
    .action(async (o: { label: string; alg?: 'RS256' | 'PS256'; activateIn?: number; force?: boolean; json?: boolean }) =>
      withServices(globals(), async (s) => {
        const hsm = s.keyProviders.active;
        if (!(hsm instanceof Pkcs11KeyProvider)) throw new KeyAdminError('keys import-hsm needs D1AUTHZ_KEY_PROVIDER=pkcs11');
        checkActivation(minKeyActivationDelayMs(s.config), o);
        const rsaAlg = o.alg ?? (s.config.signingAlg === 'PS256' ? 'PS256' : 'RS256');
        const key = await s.keys.adopt(await hsm.importByLabel(o.label, { rsaAlg }), { activateInSeconds: o.activateIn });
        print(!!o.json, key, () => `key ${key.kid} (${key.alg}, label "${o.label}") published now, signs from ${key.activateAt}`);
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
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) =>
      withServices(globals(), async (s) => {
        const rewrapped = await s.keys.rewrapLocalKeys();
        print(!!o.json, { rewrapped }, () => `${rewrapped} key(s) re-sealed under the new master key; the previous master key opens none of them now (remove D1AUTHZ_MASTER_KEY_PREVIOUS_FILE)`);
      }),
    );
  return master;
}
