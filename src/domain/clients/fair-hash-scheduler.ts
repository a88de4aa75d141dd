/**
 * Slow secret verifications, scheduled fairly. A flood of wrong secrets from one address must delay
 * only that address: verifications wait in one queue per source address (and, inside it, one per
 * client id), and a free slot goes to the address running the fewest verifications (the longest
 * unserved first among equals), not to whoever arrived first. One address
 * may hold at most a share of the pending budget; when the budget is full, a newcomer from a quieter
 * address takes the place of the newest waiting verification of the busiest one, which is refused.
 * So the first verification of a new address waits for one slot to free, whatever the flood.
 */
import { D1AuthzError } from '../../errors/d1authz-error.js';
export class HashCapacityError extends D1AuthzError {
  override readonly name = 'HashCapacityError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HASH_CAPACITY', message, options);
  }
}

/** In-process callers name no address: they share the whole budget, not one address's share. */
const NO_ADDRESS = '';

interface Job {
  readonly address: string;
  start(): void;
  refuse(err: Error): void;
}

export interface FairHashSchedulerOptions {
  /** Verifications running at once. */
  readonly concurrency: number;
  /** Verifications running or waiting, all addresses together. */
  readonly maxPending: number;
  /** Of maxPending, the most one address may hold. */
  readonly maxPendingPerAddress: number;
}

export class FairHashScheduler {
  private running = 0;
  private waitingCount = 0;
  /** Waiting jobs: address -> client id -> jobs, both maps in turn order (the next to serve first). */
  private readonly waiting = new Map<string, Map<string, Job[]>>();
  /** Running or waiting, per address (absent: none). */
  private readonly pendingBy = new Map<string, number>();
  /** Running, per address (absent: none). */
  private readonly runningBy = new Map<string, number>();
  /** When each address last had a job started (a sequence number): ties go to the longest unserved. */
  private readonly servedAt = new Map<string, number>();
  private served = 0;

  constructor(private readonly options: FairHashSchedulerOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  }

  /** Running or waiting now. */
  get pending(): number {
    return this.running + this.waitingCount;
  }

  /** Whether run() would admit a verification from this address now: refusing costs nothing before it. */
  hasRoom(address: string | undefined): boolean {
    const key = address ?? NO_ADDRESS;
    const mine = this.pendingBy.get(key) ?? 0;
    if (mine >= this.shareOf(key)) return false;
    return this.pending < this.options.maxPending || this.busiestAbove(mine + 1) !== undefined;
  }

  /** Runs `verify` when its turn comes; rejects with HashCapacityError when there is no room for it. */
  run<T>(address: string | undefined, clientId: string, verify: () => Promise<T>): Promise<T> {
    const key = address ?? NO_ADDRESS;
    const mine = this.pendingBy.get(key) ?? 0;
    if (mine >= this.shareOf(key)) return Promise.reject(new HashCapacityError('too many secret verifications pending from this address'));
    if (this.pending >= this.options.maxPending && !this.makeRoomFor(mine)) {
      return Promise.reject(new HashCapacityError('too many secret verifications pending'));
    }
    this.pendingBy.set(key, mine + 1);
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        address: key,
        start: () => {
          this.running++;
          this.runningBy.set(key, (this.runningBy.get(key) ?? 0) + 1);
          this.servedAt.set(key, ++this.served);
          verify()
            .then(resolve, reject)
            .finally(() => {
              this.running--;
              const r = this.runningBy.get(key)! - 1;
              if (r === 0) this.runningBy.delete(key);
              else this.runningBy.set(key, r);
              this.release(key);
              this.startNext();
            });
        },
        refuse: (err) => {
          this.release(key);
          reject(err);
        },
      };
      if (this.running < this.options.concurrency) job.start();
      else this.enqueue(key, clientId, job);
    });
  }

  private shareOf(key: string): number {
    return key === NO_ADDRESS ? this.options.maxPending : this.options.maxPendingPerAddress;
  }

  /** The waiting address holding more than `n` pending, the most of all; undefined when none does. */
  private busiestAbove(n: number): string | undefined {
    let busiest: string | undefined;
    let most = n;
    for (const address of this.waiting.keys()) {
      const held = this.pendingBy.get(address) ?? 0;
      if (held > most) [busiest, most] = [address, held];
    }
    return busiest;
  }

  private release(key: string): void {
    const n = (this.pendingBy.get(key) ?? 1) - 1;
    if (n <= 0) {
      this.pendingBy.delete(key);
      this.servedAt.delete(key);
    } else this.pendingBy.set(key, n);
  }

  private enqueue(address: string, clientId: string, job: Job): void {
    let clients = this.waiting.get(address);
    if (!clients) this.waiting.set(address, (clients = new Map<string, Job[]>()));
    let jobs = clients.get(clientId);
    if (!jobs) clients.set(clientId, (jobs = []));
    jobs.push(job);
    this.waitingCount++;
  }

  /**
   * The next job: of the addresses waiting, the one running the fewest now (among equals, the one
   * served longest ago), and its first client id in turn, which goes to the back of its turn.
   */
  private startNext(): void {
    let chosen: [string, Map<string, Job[]>] | undefined;
    let fewest = Infinity;
    let oldest = Infinity;
    for (const entry of this.waiting) {
      const n = this.runningBy.get(entry[0]) ?? 0;
      const at = this.servedAt.get(entry[0]) ?? 0;
      if (n < fewest || (n === fewest && at < oldest)) [chosen, fewest, oldest] = [entry, n, at];
    }
    if (!chosen) return;
    const [address, clients] = chosen;
    const [clientId, jobs] = clients.entries().next().value!;
    const job = jobs.shift()!;
    this.waitingCount--;
    clients.delete(clientId);
    if (jobs.length) clients.set(clientId, jobs);
    this.waiting.delete(address);
    if (clients.size) this.waiting.set(address, clients);
    job.start();
  }

  /**
   * The budget is full: refuse the newest waiting job of the address holding the most, if it holds
   * more than the newcomer's address would after admission. False when no such job exists.
   */
  private makeRoomFor(newcomerPending: number): boolean {
    const busiest = this.busiestAbove(newcomerPending + 1);
    if (busiest === undefined) return false;
    const clients = this.waiting.get(busiest)!;
    // The client id with the most waiting loses one: within an address, fairness across ids too.
    let longest: [string, Job[]] | undefined;
    // (among equals the last in turn, so the newest job of the address goes).
    for (const entry of clients) if (!longest || entry[1].length >= longest[1].length) longest = entry;
    const [clientId, jobs] = longest!;
    const job = jobs.pop()!;
    this.waitingCount--;
    if (jobs.length === 0) clients.delete(clientId);
    if (clients.size === 0) this.waiting.delete(busiest);
    job.refuse(new HashCapacityError('too many secret verifications pending from this address; another address took its place'));
    return true;
  }
}
