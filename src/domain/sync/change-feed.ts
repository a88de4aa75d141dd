/**
 * Polls the store's change log so that a change made by the CLI or by another node (a disabled
 * client, a rotated key or secret) reaches this node within one sync interval. Polling a
 * sequence works the same on SQLite and PostgreSQL and survives reconnects without extra state.
 */
import type { Change, ChangeRepository } from '../../store/change-repository.js';

export interface ChangeHandlers {
  client(clientId: string): void;
  key(): Promise<void> | void;
  revocation?(jti: string): void;
}

export class ChangeFeed {
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly repo: ChangeRepository,
    private readonly intervalMs: number,
    private readonly handlers: ChangeHandlers,
    private readonly onError: (err: Error) => void,
  ) {}

  async start(): Promise<void> {
    this.seq = await this.repo.latestSeq();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** false while the store does not answer; a missed change is read once it does (the log is durable). */
  get healthy(): boolean {
    return !this.failing;
  }

  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    let changes: Change[];
    try {
      changes = await this.repo.since(this.seq);
    } catch (err) {
      if (!this.failing) this.onError(err as Error);
      this.failing = true;
      return;
    }
    this.failing = false;
    let keysChanged = false;
    for (const change of changes) {
      this.seq = change.seq;
      if (change.kind === 'client') this.handlers.client(change.subject);
      else if (change.kind === 'key') keysChanged = true;
      else if (change.kind === 'revocation') this.handlers.revocation?.(change.subject);
    }
    if (keysChanged) await this.handlers.key();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
