/**
 * Bounded LRU map of verified tokens, keyed by the full token string. An entry is only ever
 * returned before its `expiresAtMs` (the token's `exp`), so the cache can never outlive a token.
 * Map iteration order is insertion order: a hit re-inserts the key, eviction drops the first key.
 */
export interface Expiring {
  readonly expiresAtMs: number;
}

export class TokenCache<V extends Expiring> {
  private readonly map = new Map<string, V>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string, nowMs: number): V | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    this.map.delete(key);
    if (nowMs >= entry.expiresAtMs) return undefined;
    this.map.set(key, entry);
    return entry;
  }

  set(key: string, value: V, nowMs: number): void {
    if (this.maxEntries <= 0 || nowMs >= value.expiresAtMs) return;
    this.map.delete(key);
    while (this.map.size >= this.maxEntries) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
    this.map.set(key, value);
  }

  /** Drops every entry matching the predicate (used when signing keys disappear). */
  deleteWhere(predicate: (value: V) => boolean): void {
    for (const [key, value] of this.map) if (predicate(value)) this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}
