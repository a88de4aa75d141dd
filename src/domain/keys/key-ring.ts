/**
 * The node's view of the signing keys: which one signs now, which are published.
 * Key lifecycle (times in the store, so every node agrees):
 *   created --(activate_at)--> signing --(next key's activate_at)--> published only --(retire_at)--> gone
 * A new key is published from its creation, and signs only from activate_at, so verifiers that
 * cache the JWKS never meet an unknown kid.
 */
import type { KeyRepository, SigningKeyRow } from '../../store/key-repository.js';
import { JwtSigner } from '../tokens/jwt-signer.js';
import type { KeyProviders } from './key-providers.js';
import { KeyProviderError } from './signer.js';

interface LoadedKey {
  readonly row: SigningKeyRow;
  /** null: published, but this node cannot sign with it (its provider is not configured here). */
  readonly signer: JwtSigner | null;
}

/**
 * The standby key is published like any other but never signs by the clock: only `keys revoke` of the
 * signing key makes it the signing key, so an emergency never signs with a key verifiers have not seen.
 */
export type KeyState = 'pending' | 'signing' | 'published' | 'standby' | 'retired' | 'revoked' | 'destroyed';

type StateFields = Pick<SigningKeyRow, 'activate_at' | 'retire_at' | 'standby'> & Partial<Pick<SigningKeyRow, 'revoked_at' | 'destroyed_at'>>;

export function keyState(row: StateFields, signingKid: string | null, kid: string, now: number): KeyState {
  if (row.destroyed_at != null) return 'destroyed';
  if (row.revoked_at != null) return 'revoked';
  if (row.retire_at !== null && row.retire_at <= now) return 'retired';
  if (row.standby === 1) return 'standby';
  if (row.activate_at > now) return 'pending';
  return kid === signingKid ? 'signing' : 'published';
}

/** The key that signs at `now`: the most recently activated of the live ones (never the standby). */
export function signingRow<T extends Pick<SigningKeyRow, 'activate_at' | 'retire_at' | 'standby'>>(rows: readonly T[], now: number): T | undefined {
  let best: T | undefined;
  for (const r of rows) {
    if (r.standby === 1 || r.activate_at > now || (r.retire_at !== null && r.retire_at <= now)) continue;
    if (!best || r.activate_at >= best.activate_at) best = r;
  }
  return best;
}

export class KeyRing {
  private keys: LoadedKey[] = [];
  private current: JwtSigner | null = null;
  private jwksJson = '{"keys":[]}';
  private nextTransition = Infinity;

  constructor(
    private readonly repo: KeyRepository,
    private readonly providers: KeyProviders,
    private readonly now: () => number = Date.now,
  ) {}

  private reloadFailing = false;

  /** Re-reads keys from the store. Opens only keys it has not seen. */
  async reload(): Promise<void> {
    try {
      await this.load();
      this.reloadFailing = false;
    } catch (err) {
      this.reloadFailing = true;
      throw err;
    }
  }

  /**
   * false since a reload failed (the store unreadable, or a key this master key cannot open), until
   * one succeeds: the node still signs with the keys it has, but may miss a key about to take over.
   */
  get upToDate(): boolean {
    return !this.reloadFailing;
  }

  private async load(): Promise<void> {
    const rows = await this.repo.listPublished(this.now());
    const known = new Map(this.keys.map((k) => [k.row.kid, k]));
    const next: LoadedKey[] = [];
    for (const row of rows) {
      const existing = known.get(row.kid);
      if (existing && existing.row.retire_at === row.retire_at && existing.row.activate_at === row.activate_at && existing.row.standby === row.standby) {
        next.push(existing);
        continue;
      }
      next.push({ row, signer: existing?.signer ?? (await this.open(row)) });
    }
    this.keys = next;
    this.recompute(this.now());
  }

  private async open(row: SigningKeyRow): Promise<JwtSigner | null> {
    try {
      return new JwtSigner(await this.providers.open(row));
    } catch (err) {
      if (err instanceof KeyProviderError) return null;
      throw err;
    }
  }

  /** The key that signs now, or null when none is active yet. */
  signer(now = this.now()): JwtSigner | null {
    if (now >= this.nextTransition) this.recompute(now);
    return this.current;
  }

  /** The JWKS document (public keys only), pre-serialised. */
  jwks(now = this.now()): string {
    if (now >= this.nextTransition) this.recompute(now);
    return this.jwksJson;
  }

  get signingKid(): string | null {
    return this.current?.kid ?? null;
  }

  /** When the signing key began to sign (epoch ms), or null: how old it is tells when a rotation is due. */
  signingSince(now = this.now()): number | null {
    const kid = this.signer(now)?.kid;
    return this.keys.find((k) => k.row.kid === kid)?.row.activate_at ?? null;
  }

  private recompute(now: number): void {
    const live = this.keys.filter((k) => k.row.retire_at === null || k.row.retire_at > now);
    const kid = signingRow(live.map((k) => k.row), now)?.kid;
    this.current = live.find((k) => k.row.kid === kid)?.signer ?? null;
    this.jwksJson = JSON.stringify({ keys: live.map((k) => JSON.parse(k.row.public_jwk) as object) });
    const future = live.flatMap((k) => [k.row.activate_at, k.row.retire_at ?? Infinity]).filter((t) => t > now);
    this.nextTransition = Math.min(Infinity, ...future);
  }
}
