/**
 * Remembers recently verified (client_id, secret) pairs so that the slow hash runs once per
 * pair per TTL, not on every token request. Keys are an HMAC of the pair under a per-process
 * random key: the cache never holds a secret, and a memory dump gives nothing to replay elsewhere.
 */
import { createHmac, randomBytes } from 'node:crypto';

interface Entry {
  readonly clientId: string;
  readonly expiresAt: number;
}

const MAX_ENTRIES = 100_000;

export class CredentialCache {
  private readonly macKey = randomBytes(32);
  private readonly entries = new Map<string, Entry>();
  private readonly byClient = new Map<string, Set<string>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cache key of a (client_id, secret) pair: an HMAC, so no secret is ever held as a key. */
  mac(clientId: string, secret: string | Uint8Array): string {
    return createHmac('sha256', this.macKey).update(clientId).update('\0').update(secret).digest('base64');
  }

  has(clientId: string, secret: string | Uint8Array): boolean {
    if (this.ttlMs === 0) return false;
    const key = this.mac(clientId, secret);
    const entry = this.entries.get(key);
    if (!entry) return false;
    if (entry.expiresAt <= this.now() || entry.clientId !== clientId) {
      this.entries.delete(key);
      return false;
    }
    return true;
  }

  /** `notAfter`: the secret's own end (grace period), if any: the entry never outlives it. */
  add(clientId: string, secret: string | Uint8Array, notAfter: number | null): void {
    if (this.ttlMs === 0) return;
    const key = this.mac(clientId, secret);
    const expiresAt = Math.min(this.now() + this.ttlMs, notAfter ?? Infinity);
    if (this.entries.size >= MAX_ENTRIES) this.evictOldest();
    this.entries.set(key, { clientId, expiresAt });
    let keys = this.byClient.get(clientId);
    if (!keys) this.byClient.set(clientId, (keys = new Set()));
    keys.add(key);
  }

  /** Any change to a client drops what was verified for it. */
  dropClient(clientId: string): void {
    const keys = this.byClient.get(clientId);
    if (!keys) return;
    for (const key of keys) this.entries.delete(key);
    this.byClient.delete(clientId);
  }

  get size(): number {
    return this.entries.size;
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done) return;
    const entry = this.entries.get(oldest.value)!;
    this.entries.delete(oldest.value);
    this.byClient.get(entry.clientId)?.delete(oldest.value);
  }
}
