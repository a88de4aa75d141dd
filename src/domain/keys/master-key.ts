/**
 * The master key encrypts signing keys at rest. It comes from D1AUTHZ_MASTER_KEY or
 * D1AUTHZ_MASTER_KEY_FILE (32 bytes, base64 or hex). For the embedded store only, a key file
 * is generated next to the database on first start, with a warning: fine for a trial, while
 * production keeps the key apart from the data (a secret manager, a mounted file).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';

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
  readonly databaseUrl: string;
}

export function sqlitePath(databaseUrl: string): string | null {
  if (!databaseUrl.startsWith('sqlite:')) return null;
  return databaseUrl.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
}

export function loadMasterKey(source: MasterKeySource, warn: (msg: string) => void): Buffer {
  if (source.masterKey) return decodeMasterKey(source.masterKey, 'D1AUTHZ_MASTER_KEY');
  if (source.masterKeyFile) {
    try {
      return decodeMasterKey(readFileSync(source.masterKeyFile, 'utf8'), source.masterKeyFile);
    } catch (err) {
      if (err instanceof MasterKeyError) throw err;
      throw new MasterKeyError(`D1AUTHZ_MASTER_KEY_FILE: cannot read ${source.masterKeyFile}: ${(err as Error).message}`);
    }
  }
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
