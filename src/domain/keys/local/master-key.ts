/**
 * The master key encrypts the local provider's signing keys at rest (keys held in an HSM need none).
 * It comes from D1AUTHZ_MASTER_KEY or D1AUTHZ_MASTER_KEY_FILE (32 bytes, base64 or hex). For the
 * embedded store only, a key file is generated next to the database on first start, with a warning:
 * fine for a trial, while production keeps the key apart from the data (a secret manager, a mounted
 * file). While the master key is being replaced, D1AUTHZ_MASTER_KEY_PREVIOUS_FILE holds the old one:
 * keys sealed under either open, until `d1-authz master-key rotate` has re-sealed them all.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { sqlitePath } from '../../../store/sqlite-path.js';
import { D1AuthzError } from '../../../errors/d1authz-error.js';

export class MasterKeyError extends D1AuthzError {
  override readonly name = 'MasterKeyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MASTER_KEY', message, options);
  }
}

/** Fewer distinct byte values than this in 32 bytes: not random (a random key has about 30; below 16 is beyond 1 in 2^100). */
const MIN_DISTINCT_BYTES = 16;

/**
 * Why `key` cannot be a randomly generated key, or undefined. Refused: fewer than 16 distinct
 * byte values (all zero, one repeated byte, a short pattern), a pattern repeated with a period of
 * 16 bytes or less, a constant step (00 01 02 ...). A random key trips none of these in practice.
 */
export function weakMasterKeyReason(key: Buffer): string | undefined {
  const distinct = new Set(key).size;
  if (distinct < MIN_DISTINCT_BYTES) return `it has only ${distinct} distinct byte value(s) in ${key.length} (at least ${MIN_DISTINCT_BYTES} expected of random bytes)`;
  for (let period = 1; period <= key.length / 2; period++) {
    if (key.every((b, i) => i < period || b === key[i - period])) return `it repeats a ${period}-byte pattern`;
  }
  const step = (key[1]! - key[0]! + 256) % 256;
  if (key.every((b, i) => i === 0 || (b - key[i - 1]! + 256) % 256 === step)) return 'its bytes go up by a constant step';
  return undefined;
}

export function decodeMasterKey(text: string, origin: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) throw new MasterKeyError(`${origin}: the master key must be 32 bytes, base64 or hex`);
  const weak = weakMasterKeyReason(key);
  if (weak) throw new MasterKeyError(`${origin}: refusing a weak master key: ${weak}. Generate one with: openssl rand -base64 32`);
  return key;
}

/**
 * As OpenSSH refuses a private key others can read: the master key opens every signing key, so a
 * file readable or writable by group or others is refused, with the command that fixes it.
 */
function readKeyFile(file: string, origin: string): Buffer {
  let text: string;
  try {
    const mode = statSync(file).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new MasterKeyError(
        `${origin}: ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')}); the master key must be readable by its owner only. ` +
          `Fix: chmod 600 ${file}   (Kubernetes secret volume: defaultMode: 0400)`,
      );
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof MasterKeyError) throw err;
    throw new MasterKeyError(`${origin}: cannot read ${file}: ${(err as Error).message}`);
  }
  return decodeMasterKey(text, file);
}

export interface MasterKeySource {
  readonly masterKey?: string | undefined;
  readonly masterKeyFile?: string | undefined;
  readonly masterKeyPreviousFile?: string | undefined;
  readonly databaseUrl: string;
}

/** The key being replaced (D1AUTHZ_MASTER_KEY_PREVIOUS_FILE), or undefined when none is configured. */
export function loadPreviousMasterKey(source: MasterKeySource): Buffer | undefined {
  if (!source.masterKeyPreviousFile) return undefined;
  return readKeyFile(source.masterKeyPreviousFile, 'D1AUTHZ_MASTER_KEY_PREVIOUS_FILE');
}

/**
 * `create`: generate the embedded store's key file when there is none (serve, migrate). Every other
 * command uses the key the server uses: a new key there would seal signing keys no server can open.
 */
export function loadMasterKey(source: MasterKeySource, warn: (msg: string) => void, options: { create?: boolean } = {}): Buffer {
  if (source.masterKey) return decodeMasterKey(source.masterKey, 'D1AUTHZ_MASTER_KEY');
  if (source.masterKeyFile) return readKeyFile(source.masterKeyFile, 'D1AUTHZ_MASTER_KEY_FILE');
  const dbPath = sqlitePath(source.databaseUrl);
  if (dbPath === null || dbPath === ':memory:') {
    throw new MasterKeyError('D1AUTHZ_MASTER_KEY or D1AUTHZ_MASTER_KEY_FILE is required with this database');
  }
  const file = join(dirname(resolve(dbPath)), 'master.key');
  if (existsSync(file)) return readKeyFile(file, 'the generated master key');
  if (options.create === false) {
    throw new MasterKeyError(
      `no master key: ${file} does not exist and neither D1AUTHZ_MASTER_KEY nor D1AUTHZ_MASTER_KEY_FILE is set. ` +
        'Give this command the master key the server uses (or run "d1-authz migrate" or "d1-authz serve" first to create the store)',
    );
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  warn(`generated a master key in ${file}; in production set D1AUTHZ_MASTER_KEY_FILE to a key kept apart from the data`);
  return key;
}
