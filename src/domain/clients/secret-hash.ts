/**
 * Client secrets are stored only as scrypt hashes in PHC string format:
 *   $scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>
 * The parameters travel with each hash, so the cost can be raised without invalidating old secrets.
 * What is hashed is the secret's form (secret-form.ts), never the raw presentation.
 * scrypt runs on libuv's thread pool (async), never on the event loop.
 *
 * A secret added by rotation while older ones stay live (the grace period) reuses the salt and
 * parameters of the newest of them, so one derivation checks a presented secret against all of a
 * client's live secrets: a failed check costs one hash whether the client is in a grace period or not.
 * The salt still does its job: it is random per client, so nothing is precomputed and clients with
 * the same secret have different hashes; only secrets of one client, which grant the same, share it.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { secretForm } from './secret-form.js';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** What one slow derivation needs: cost parameters and salt. */
export interface DerivationParams {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
}

export interface StoredHash extends DerivationParams {
  readonly key: Buffer;
}

/** The slow step, and the only one: counted by the tests that pin constant cost. */
export type Derive = (secret: Uint8Array, params: DerivationParams) => Promise<Buffer>;

export const deriveKey: Derive = (secret, { ln, r, p, salt }) => {
  const options: ScryptOptions = { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(secret, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
};

const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');

/** A stored hash, or undefined when malformed or outside the parameters we run (such a hash never matches). */
export function parseHash(phc: string): StoredHash | undefined {
  const m = PHC.exec(phc);
  if (!m) return undefined;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const key = Buffer.from(m[5]!, 'base64');
  if (ln < 10 || ln > 22 || r < 1 || p < 1 || key.length !== KEY_LENGTH) return undefined;
  return { ln, r, p, salt: Buffer.from(m[4]!, 'base64'), key };
}

/** Same salt and parameters: one derivation serves both. */
export const sameDerivation = (a: DerivationParams, b: DerivationParams) => a.ln === b.ln && a.r === b.r && a.p === b.p && a.salt.equals(b.salt);

/** Fresh salt and the given cost; or, with `like`, the salt and parameters of that stored hash (a rotation in grace). */
export function derivationParams(cost: number, like?: string): DerivationParams {
  const reused = like === undefined ? undefined : parseHash(like);
  if (reused) return { ln: reused.ln, r: reused.r, p: reused.p, salt: reused.salt };
  return { ln: cost, r: 8, p: 1, salt: randomBytes(SALT_LENGTH) };
}

export async function hashSecret(secret: string, cost: number, like?: string): Promise<string> {
  const form = secretForm(secret);
  if (!form) throw new RangeError('a secret must not hold control characters, raw or percent-encoded');
  const params = derivationParams(cost, like);
  const key = await deriveKey(form, params);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(params.salt)}$${b64(key)}`;
}

/** Whether `derived` equals any of `keys`: every key is compared, in constant time, whatever matches. */
export function matchingKey(derived: Buffer, keys: readonly Buffer[]): number {
  let found = -1;
  keys.forEach((key, i) => {
    if (timingSafeEqual(derived, key) && found < 0) found = i;
  });
  return found;
}

/** A generated client secret: 256 bits of randomness, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * One presented secret against one stored hash (admin tokens: one hash per token). The slow derivation
 * runs whenever the stored hash is well-formed, even for a presentation that could never match.
 */
export async function verifySecret(secret: string, phc: string): Promise<boolean> {
  const stored = parseHash(phc);
  if (!stored) return false;
  const form = secretForm(secret);
  const derived = await deriveKey(form ?? Buffer.alloc(0), stored);
  return form !== undefined && matchingKey(derived, [stored.key]) === 0;
}
