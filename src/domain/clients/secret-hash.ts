/**
 * Client secrets are stored only as scrypt hashes in PHC string format:
 *   $scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>
 * The parameters travel with each hash, so the cost can be raised without invalidating old secrets.
 * scrypt runs on libuv's thread pool (async), never on the event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function scryptAsync(secret: string, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const b64 = (buf: Buffer) => buf.toString('base64').replace(/=+$/, '');

export async function hashSecret(secret: string, cost: number): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await scryptAsync(secret, salt, cost, 8, 1);
  return `$scrypt$ln=${cost},r=8,p=1$${b64(salt)}$${b64(key)}`;
}

/** Constant-time comparison of the derived key. A malformed stored hash never matches. */
export async function verifySecret(secret: string, phc: string): Promise<boolean> {
  const m = PHC.exec(phc);
  if (!m) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  if (ln < 10 || ln > 22 || expected.length !== KEY_LENGTH) return false;
  const actual = await scryptAsync(secret, Buffer.from(m[4]!, 'base64'), ln, r, p);
  return timingSafeEqual(actual, expected);
}

/** A generated client secret: 256 bits of randomness, base64url (43 characters). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}
