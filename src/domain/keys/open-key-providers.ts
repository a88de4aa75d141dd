/**
 * The key providers a process runs with, from its config: the composition of the signer seam.
 * `local` reads (or, for a trial SQLite store, creates) the master key; `pkcs11` connects to the HSM
 * and reads a master key only when one is configured, for local keys made before the switch.
 */
import type { KeyProviderName } from '../../model/signing.js';
import { KeyProviders } from './key-providers.js';
import { LocalKeyProvider } from './local/local-provider.js';
import { loadMasterKey, loadPreviousMasterKey, type MasterKeySource } from './local/master-key.js';
import { Pkcs11KeyProvider } from './pkcs11/pkcs11-provider.js';
import { pkcs11Settings, type Pkcs11Config } from './pkcs11/pkcs11-settings.js';

/** The part of the config key custody reads (the composition root passes its Config). */
export interface KeyProviderSettings extends MasterKeySource, Pkcs11Config {
  readonly keyProvider: KeyProviderName;
}

export interface ProviderLog {
  warn(msg: string): void;
  info(msg: string): void;
}

/**
 * `create`: the embedded store's master key file may be generated (serve, migrate), see loadMasterKey.
 * `threadPoolSize`: the size of libuv's thread pool, which the HSM's sessions are sized to.
 */
export function openKeyProviders(config: KeyProviderSettings, log: ProviderLog, options: { create?: boolean; threadPoolSize: number }): KeyProviders {
  const create = options.create === undefined ? {} : { create: options.create };
  const local = () => new LocalKeyProvider({ current: loadMasterKey(config, (m) => log.warn(m), create), previous: loadPreviousMasterKey(config) });
  if (config.keyProvider === 'local') return new KeyProviders(local());
  // One session per libuv thread: the binding's async calls run there, so more could not sign at once.
  const hsm = Pkcs11KeyProvider.open(pkcs11Settings(config), options.threadPoolSize, {
    down: (reason) => log.warn(`HSM lost (${reason}): token requests get 503 until it is back; reconnecting every second`),
    up: () => log.info('HSM reachable again: signing resumed'),
  });
  const hasMasterKey = config.masterKey !== undefined || config.masterKeyFile !== undefined;
  try {
    // Only a configured master key: an HSM node never generates a master key file.
    return new KeyProviders(hsm, hasMasterKey ? [new LocalKeyProvider({ current: loadMasterKey(config, (m) => log.warn(m)), previous: loadPreviousMasterKey(config) })] : []);
  } catch (err) {
    void hsm.close();
    throw err;
  }
}
