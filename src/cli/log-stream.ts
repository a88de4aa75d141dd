/**
 * Where the CLI's log lines go: on a terminal, readable lines (pino-pretty: time, level, message,
 * then the fields); anywhere else, pino's JSON lines untouched, which log shippers and the tests
 * parse. `--json` keeps JSON on a terminal too. The redaction of the logger applies before either.
 */
import { createRequire } from 'node:module';
import type { DestinationStream } from 'pino';
import { pino } from 'pino';
import type PinoPretty from 'pino-pretty';
import { colorEnabled } from './output.js';
import { LineBatcher } from './line-batcher.js';

// Loaded only for a terminal: piped runs (scripts, services, tests) do not pay for its modules.
const loadPretty = () => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

/** The longest a log line of the server waits in the buffer before it is written. */
export const LOG_FLUSH_MS = 100;
/** Lines are written in batches of about this many characters. */
export const LOG_BATCH_CHARS = 4096;

export function logDestination(fd: 1 | 2, options: { json?: boolean } = {}): DestinationStream {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (options.json || !stream.isTTY) {
    // stdout is the server's request log: lines are gathered into 4 KiB writes (one write(2) per
    // line cost a tenth of a token's CPU), and whatever is gathered is written at least every
    // LOG_FLUSH_MS. SIGTERM and exits flush the rest.
    // Each batch is written at once from the event loop (sync), not queued to libuv's pool: there
    // it waited behind the token signatures, and the batches waiting were promoted to V8's old
    // generation, which then grew by the log's volume between full collections.
    if (fd === 2) return pino.destination(2);
    return new LineBatcher(pino.destination({ sync: true }), LOG_BATCH_CHARS, LOG_FLUSH_MS);
  }
  return loadPretty()({
    destination: fd,
    sync: true,
    colorize: colorEnabled(stream),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
}
