import { readFileSync } from 'node:fs';
import { KeyProviderError } from '../signer.js';

export interface Pkcs11Settings {
  /** Path of the vendor's PKCS#11 module (.so). */
  readonly module: string;
  /** The token (HSM partition) by its label, or by slot id. */
  readonly tokenLabel?: string | undefined;
  readonly slot?: number | undefined;
  /** The crypto user's PIN. Never logged. */
  readonly pin: string;
}

export interface Pkcs11Config {
  readonly pkcs11Module?: string | undefined;
  readonly pkcs11TokenLabel?: string | undefined;
  readonly pkcs11Slot?: number | undefined;
  readonly pkcs11Pin?: string | undefined;
  readonly pkcs11PinFile?: string | undefined;
}

/** The config schema has already checked that the settings go together; the PIN file is read here. */
export function pkcs11Settings(config: Pkcs11Config): Pkcs11Settings {
  let pin = config.pkcs11Pin;
  if (pin === undefined && config.pkcs11PinFile !== undefined) {
    try {
      // One trailing newline (echo > file) is not part of the PIN.
      pin = readFileSync(config.pkcs11PinFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new KeyProviderError(`D1AUTHZ_PKCS11_PIN_FILE: cannot read ${config.pkcs11PinFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (pin === '') throw new KeyProviderError(`D1AUTHZ_PKCS11_PIN_FILE: ${config.pkcs11PinFile} is empty`);
  }
  if (config.pkcs11Module === undefined || pin === undefined) throw new KeyProviderError('the pkcs11 provider needs D1AUTHZ_PKCS11_MODULE and D1AUTHZ_PKCS11_PIN or D1AUTHZ_PKCS11_PIN_FILE');
  return { module: config.pkcs11Module, tokenLabel: config.pkcs11TokenLabel, slot: config.pkcs11Slot, pin };
}
