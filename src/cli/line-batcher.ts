/**
 * Gathers the server's log lines into one string of about `batchChars` before they reach sonic-boom,
 * and hands over whatever it holds every `flushMs` (then has it written). Sonic-boom can gather by
 * itself (`minLength`, asynchronous mode only), but it measures the tail of its buffer with
 * Buffer.byteLength on every line, which flattens the growing string each time: that cost more per
 * line than serialising the line. Here a line costs an array push, and sonic-boom sees one flat
 * string per batch.
 */
import { pino, type DestinationStream } from 'pino';

/** What pino.destination() returns (sonic-boom, pino's own dependency). */
type SonicBoom = ReturnType<typeof pino.destination>;

export class LineBatcher implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;
  /** Handed over since the last flush: what the next timer tick has written. */
  private unflushed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly out: SonicBoom,
    private readonly batchChars: number,
    flushMs: number,
  ) {
    this.timer = setInterval(() => this.tick(), flushMs);
    this.timer.unref();
    // process.exit() from anywhere (a start-up error, the end of a drain): the lines held here are
    // written before the process ends, as sonic-boom's own exit handler writes what it holds.
    process.once('exit', () => this.flushSync());
  }

  write(line: string): boolean {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.batchChars) this.handOver();
    return true;
  }

  /** pino's logger.flush(cb): everything held here and in sonic-boom is written, then cb. */
  flush(cb?: (err?: Error) => void): void {
    this.handOver();
    this.unflushed = false;
    this.out.flush(cb);
  }

  flushSync(): void {
    this.handOver();
    this.unflushed = false;
    try {
      this.out.flushSync();
    } catch {
      /* not open yet, or already closed: nothing of ours is left to write */
    }
  }

  private tick(): void {
    this.handOver();
    if (!this.unflushed) return;
    this.unflushed = false;
    this.out.flush();
  }

  private handOver(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.unflushed = true;
    this.out.write(batch);
  }
}
