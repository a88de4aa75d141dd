/**
 * The form in which a client secret is hashed and compared. RFC 6749 §2.3.1 has clients
 * form-urlencode the secret before base64; many send it raw. The presentation "a+b" is then both
 * the raw secret "a+b" and the encoded secret "a b", and trying both readings costs two slow hashes,
 * which made a guess containing "%" or "+" twice as expensive as any other. Instead a secret is
 * form-decoded until nothing is left to decode, at creation and at every check: a secret sent raw
 * and the same secret sent encoded reach one value, and one hash decides. Generated secrets
 * (base64url) contain neither "%" nor "+", so for them the form is the secret itself.
 *
 * The form never holds a control character. scrypt's PBKDF2-HMAC step zero-pads a key shorter
 * than the hash block, so "s" and "s\0" derive the same key; since no stored secret holds a control
 * character, refusing them in what is presented refuses exactly the padded look-alikes.
 */

const PLUS = 0x2b;
const PERCENT = 0x25;

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** One application/x-www-form-urlencoded decoding pass: "+" is a space, "%XX" a byte, a lone "%" stays. */
function formDecodeOnce(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    const high = byte === PERCENT ? hexValue(bytes[i + 1]) : -1;
    const low = high >= 0 ? hexValue(bytes[i + 2]) : -1;
    if (byte === PLUS) out[n++] = 0x20;
    else if (low >= 0) {
      out[n++] = high * 16 + low;
      i += 2;
    } else out[n++] = byte;
  }
  return out.subarray(0, n);
}

const hasControlCharacter = (bytes: Uint8Array) => bytes.some((b) => b < 0x20 || b === 0x7f);

/** The bytes hashed for `secret`, or undefined when they hold a control character (no stored secret does). */
export function secretForm(secret: string): Buffer | undefined {
  let bytes: Uint8Array = Buffer.from(secret, 'utf8');
  // Each pass that changes something removes a "+" or shortens the value: this ends.
  for (;;) {
    const next = formDecodeOnce(bytes);
    if (Buffer.compare(next, bytes) === 0) break;
    bytes = next;
  }
  return hasControlCharacter(bytes) ? undefined : Buffer.from(bytes);
}

/** Client ids are printable (CLIENT_ID_PATTERN); one with a control character names no client. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
export const hasControlCharacters = (value: string) => /[\x00-\x1f\x7f]/.test(value);
