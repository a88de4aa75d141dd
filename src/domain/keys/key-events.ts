/**
 * What the key administration reports as it happens, for an audit trail. The server passes
 * `silentKeyEvents` today; an audit sink implements this interface and is handed to KeyService.
 */
export interface KeyEvents {
  keyRevoked(event: { readonly kid: string; readonly reason: string; readonly at: number; readonly promotedKid: string | null }): void;
  masterKeyRotated(event: { readonly at: number; readonly rewrapped: number }): void;
  keyDestroyed(event: { readonly kid: string; readonly provider: string; readonly at: number }): void;
}

export const silentKeyEvents: KeyEvents = {
  keyRevoked() {},
  masterKeyRotated() {},
  keyDestroyed() {},
};
