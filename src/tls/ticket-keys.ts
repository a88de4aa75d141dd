/**
 * TLS session ticket keys: the keys a server encrypts its session tickets with, so that a client
 * that comes back resumes instead of paying a full handshake. Node's docs: the keys "should be
 * regenerated periodically", and servers that are to accept each other's tickets "must all have the
 * same ticket keys".
 *
 * - One process: new random keys every rotation period.
 * - `--workers N`: the primary draws the keys and sends them to every worker over the cluster channel
 *   (when a worker listens, and at each rotation), so a ticket from one worker resumes on any other.
 * - A certificate reload (setSecureContext) gives the server a new context with random keys of its
 *   own. Tickets from before a reload must not resume (a session resumed carries a client certificate
 *   checked against the client CA of then), and the workers must keep one set: each derives the
 *   next keys from the current ones and the digest of the files it loaded, which every worker that
 *   loaded the same files computes alike.
 *
 * A ticket sealed with the previous keys is not accepted after a rotation: that client does one full
 * handshake and gets a new ticket. The keys never leave the processes (never written, never logged);
 * a compromise of them exposes, for TLS 1.2, the sessions resumed within one rotation period only.
 */
import cluster, { type Worker } from 'node:cluster';
import { createHmac, randomBytes } from 'node:crypto';

/** D1AUTHZ_TLS_TICKET_KEY_ROTATION's default: hourly, as large TLS terminators rotate. */
export const DEFAULT_TICKET_KEY_ROTATION_S = 3600;

/** Node's format: a 16-byte key name, a 16-byte AES key and a 16-byte HMAC key. */
export const TICKET_KEY_BYTES = 48;

interface TicketKeysMessage {
  readonly d1authz: 'tls-ticket-keys';
  /** base64 of TICKET_KEY_BYTES bytes. */
  readonly keys: string;
}

const isTicketKeysMessage = (m: unknown): m is TicketKeysMessage =>
  typeof m === 'object' && m !== null && (m as TicketKeysMessage).d1authz === 'tls-ticket-keys' && typeof (m as TicketKeysMessage).keys === 'string';

const message = (keys: Buffer): TicketKeysMessage => ({ d1authz: 'tls-ticket-keys', keys: keys.toString('base64') });

export interface TicketKeyServer {
  setTicketKeys(keys: Buffer): void;
}

export interface TicketKeys {
  /** After setSecureContext with the files of `digest`: keys no ticket from before can open, the same in every worker. */
  rekeyAfterReload(digest: string): void;
  stop(): void;
}

/** SHA-384 is 48 bytes: exactly one set of ticket keys. */
const derived = (keys: Buffer, digest: string): Buffer => createHmac('sha384', keys).update(`d1-authz tls reload ${digest}`).digest();

/**
 * The keys of one TLS server: drawn and rotated here in a single process, taken from the primary in a
 * worker (until they arrive, the keys node:cluster hands every worker of the listening port).
 */
export function manageTicketKeys(server: TicketKeyServer, rotationMs: number): TicketKeys {
  let current: Buffer | undefined;
  const apply = (keys: Buffer) => {
    if (keys.length !== TICKET_KEY_BYTES) return;
    current = keys;
    server.setTicketKeys(keys);
  };
  const rekeyAfterReload = (digest: string) => {
    if (current) apply(derived(current, digest));
  };
  if (cluster.isWorker) {
    const onMessage = (m: unknown) => {
      if (isTicketKeysMessage(m)) apply(Buffer.from(m.keys, 'base64'));
    };
    process.on('message', onMessage);
    return { rekeyAfterReload, stop: () => void process.off('message', onMessage) };
  }
  apply(randomBytes(TICKET_KEY_BYTES));
  const timer = setInterval(() => apply(randomBytes(TICKET_KEY_BYTES)), rotationMs);
  timer.unref();
  return { rekeyAfterReload, stop: () => clearInterval(timer) };
}

export interface TicketKeyDistributor {
  /** Sends the current keys to a worker (once it listens). */
  sendTo(worker: Worker): void;
  stop(): void;
}

/** In the primary: one set of keys for every worker, new every `rotationMs`. */
export function distributeTicketKeys(rotationMs: number): TicketKeyDistributor {
  let current = randomBytes(TICKET_KEY_BYTES);
  const send = (worker: Worker | undefined) => {
    // A worker gone mid-send: its replacement is sent the keys when it listens.
    if (worker?.isConnected()) worker.send(message(current), (err: Error | null) => void err);
  };
  const timer = setInterval(() => {
    current = randomBytes(TICKET_KEY_BYTES);
    for (const worker of Object.values(cluster.workers ?? {})) send(worker);
  }, rotationMs);
  timer.unref();
  return { sendTo: send, stop: () => clearInterval(timer) };
}
