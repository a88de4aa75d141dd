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

// Loaded only for a terminal: piped runs (scripts, services, tests) do not pay for its modules.
const loadPretty = () => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

export function logDestination(fd: 1 | 2, options: { json?: boolean } = {}): DestinationStream {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (options.json || !stream.isTTY) return fd === 1 ? pino.destination({ sync: false }) : pino.destination(2);
  return loadPretty()({
    destination: fd,
    sync: true,
    colorize: colorEnabled(stream),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
}
