/**
 * The master key encrypts the local provider's signing keys at rest (keys held in an HSM need none).
 * It comes from D1AUTHZ_MASTER_KEY or D1AUTHZ_MASTER_KEY_FILE (32 bytes, base64 or hex). For the
 * embedded store only, a key file is generated next to the database on first start, with a warning:
 * fine for a trial, while production keeps the key apart from the data (a secret manager, a mounted
 * file). While the master key is being replaced, D1AUTHZ_MASTER_KEY_PREVIOUS_FILE holds the old one:
 * keys sealed under either open, until `d1-authz master-key rotate` has re-sealed them all.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { sqlitePath } from '../../../store/sqlite-path.js';

export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

export function decodeMasterKey(text: string, origin: string): Buffer {
  const value = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) throw new MasterKeyError(`${origin}: the master key must be 32 bytes, base64 or hex`);
  return key;
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

function readKeyFile(file: string, setting: string): Buffer {
  try {
    return decodeMasterKey(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof MasterKeyError) throw err;
    throw new MasterKeyError(`${setting}: cannot read ${file}: ${(err as Error).message}`);
  }
}


export function loadMasterKey(source: MasterKeySource, warn: (msg: string) => void): Buffer {
  if (source.masterKey) return decodeMasterKey(source.masterKey, 'D1AUTHZ_MASTER_KEY');
  if (source.masterKeyFile) return readKeyFile(source.masterKeyFile, 'D1AUTHZ_MASTER_KEY_FILE');
  const dbPath = sqlitePath(source.databaseUrl);
  if (dbPath === null || dbPath === ':memory:') {
    throw new MasterKeyError('D1AUTHZ_MASTER_KEY or D1AUTHZ_MASTER_KEY_FILE is required with this database');
  }
  const file = join(dirname(resolve(dbPath)), 'master.key');
  if (existsSync(file)) return decodeMasterKey(readFileSync(file, 'utf8'), file);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  warn(`generated a master key in ${file}; in production set D1AUTHZ_MASTER_KEY_FILE to a key kept apart from the data`);
  return key;
}
