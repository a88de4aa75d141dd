/**
 * The process's sessions with one HSM token. A PKCS#11 session runs one operation at a time, so
 * callers borrow one (waiting when all are busy); the user is logged in once (a login holds for every
 * session of the application). Any PKCS#11 failure on a borrowed session marks the pool down: callers
 * are refused at once (KeyUnavailableError: 503 with Retry-After) while the pool re-initialises the
 * module, finds the token, opens and logs in again, every second until it succeeds. A heartbeat asks
 * for the token's info every second, so a lost token is noticed (/readyz 503) without traffic too.
 * Re-initialising waits until no operation is in flight: finalising a module under a running call
 * is undefined behaviour in PKCS#11.
 */
import pkcs11js from './binding.js';
import type * as Pkcs11Types from 'pkcs11js';
import { KeyProviderError, KeyUnavailableError } from '../signer.js';
import type { Pkcs11Settings } from './pkcs11-settings.js';

export type Pkcs11 = Pkcs11Types.PKCS11;
export type Handle = Pkcs11Types.Handle;

const RETRY_MS = 1000;
const HEARTBEAT_MS = 1000;

export interface PoolEvents {
  down(reason: string): void;
  up(): void;
}

export class Pkcs11SessionPool {
  private readonly lib = new pkcs11js.PKCS11();
  private slot: Handle | undefined;
  private idle: Handle[] = [];
  private readonly waiters: { resolve: (session: Handle) => void; reject: (err: Error) => void }[] = [];
  private busy = 0;
  private up = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  /** Bumped on every re-initialisation: object handles found before it are stale. */
  generation = 0;

  private constructor(
    private readonly settings: Pkcs11Settings,
    private readonly size: number,
    private readonly events: PoolEvents,
  ) {
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Opens the pool; an unreachable module or token, or a wrong PIN, refuses start-up with the reason. */
  static open(settings: Pkcs11Settings, size: number, events: PoolEvents): Pkcs11SessionPool {
    const pool = new Pkcs11SessionPool(settings, size, events);
    try {
      pool.lib.load(settings.module);
    } catch (err) {
      pool.close();
      throw new KeyProviderError(`D1AUTHZ_PKCS11_MODULE: cannot load ${settings.module}: ${(err as Error).message}`);
    }
    try {
      pool.connect();
    } catch (err) {
      pool.close();
      throw new KeyProviderError(`the HSM is not reachable: ${(err as Error).message}`);
    }
    return pool;
  }

  get ready(): boolean {
    return this.up;
  }

  /** Runs `fn` on a borrowed session. A PKCS#11 failure takes the pool down and rejects with KeyUnavailableError. */
  async run<T>(fn: (lib: Pkcs11, session: Handle, generation: number) => T | Promise<T>): Promise<T> {
    if (!this.up) throw new KeyUnavailableError('the HSM is not reachable; reconnecting');
    const session = await this.acquire();
    const generation = this.generation;
    try {
      return await fn(this.lib, session, generation);
    } catch (err) {
      if (err instanceof KeyUnavailableError || err instanceof KeyProviderError) throw err;
      if (generation === this.generation) this.fail(describe(err));
      throw new KeyUnavailableError(`HSM operation failed: ${describe(err)}`);
    } finally {
      this.release(session, generation);
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retryTimer);
    if (this.up) this.finalize();
    this.up = false;
  }

  private connect(): void {
    // PKCS#11 v2.40 §5.4: with no initialization arguments a library may assume the application
    // "will not be accessing Cryptoki from multiple threads simultaneously"; signing runs on libuv's
    // pool threads, several at once, so the library is told to use the OS's locking.
    this.lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    try {
      this.slot = this.findSlot();
      const sessions: Handle[] = [];
      for (let i = 0; i < this.size; i++) sessions.push(this.lib.C_OpenSession(this.slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION));
      try {
        this.lib.C_Login(sessions[0]!, pkcs11js.CKU_USER, this.settings.pin);
      } catch (err) {
        if ((err as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw new Error(`login refused: ${describe(err)}`, { cause: err });
      }
      this.idle = sessions;
      this.up = true;
    } catch (err) {
      this.finalize();
      throw err;
    }
  }

  private findSlot(): Handle {
    const slots = this.lib.C_GetSlotList(true);
    if (this.settings.slot !== undefined) {
      const slot = slots.find((s) => s.readUIntLE(0, Math.min(6, s.length)) === this.settings.slot);
      if (!slot) throw new Error(`no token in slot ${this.settings.slot}`);
      return slot;
    }
    const slot = slots.find((s) => this.lib.C_GetTokenInfo(s).label.trim() === this.settings.tokenLabel);
    if (!slot) throw new Error(`no token labelled "${this.settings.tokenLabel}"`);
    return slot;
  }

  private acquire(): Promise<Handle> {
    const session = this.idle.pop();
    if (session !== undefined) {
      this.busy++;
      return Promise.resolve(session);
    }
    return new Promise<Handle>((resolve, reject) => this.waiters.push({ resolve, reject })).then((s) => {
      this.busy++;
      return s;
    });
  }

  private release(session: Handle, generation: number): void {
    this.busy--;
    if (generation === this.generation && this.up) {
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(session);
      else this.idle.push(session);
    }
    if (!this.up) this.scheduleReconnect();
  }

  private fail(reason: string): void {
    if (!this.up) return;
    this.up = false;
    this.generation++;
    this.idle = [];
    // Waiters hold no session yet: they are told to come back later.
    for (const waiter of this.waiters.splice(0)) waiter.reject(new KeyUnavailableError('the HSM was lost; reconnecting'));
    this.events.down(reason);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.up || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.closed || this.up) return;
      if (this.busy > 0) return this.scheduleReconnect();
      this.finalize();
      try {
        this.connect();
        this.generation++;
        this.events.up();
      } catch {
        this.scheduleReconnect();
      }
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  private beat(): void {
    if (!this.up || this.slot === undefined) return;
    try {
      this.lib.C_GetTokenInfo(this.slot);
    } catch (err) {
      this.fail(`token lost: ${describe(err)}`);
    }
  }

  private finalize(): void {
    try {
      this.lib.C_Finalize();
    } catch {
      // Not initialised, or the module is gone: either way there is nothing left to close.
    }
  }
}

/** A PKCS#11 error by its CKR_ name (pkcs11js puts it in the message); never any data. */
export function describe(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
