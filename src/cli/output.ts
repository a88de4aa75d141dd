/**
 * What every CLI command prints, one way for all of them:
 *  - `--json`: one JSON document on stdout, snake_case keys, ISO-8601 times (scripts parse it);
 *  - otherwise, for people: a table with a header (boxed and coloured on a terminal; aligned plain
 *    columns when piped, so grep/awk still work), key-value records, and a line saying what was done.
 * Colour only on a terminal and never with NO_COLOR (https://no-color.org). Warnings and errors go to
 * stderr, so stdout stays clean for --json.
 */
import Table from 'cli-table3';
import { createColors } from 'picocolors';

export interface JsonFlag {
  json?: boolean;
}

type Stream = NodeJS.WriteStream;

/** NO_COLOR "when present and not an empty string" disables colour. */
export function colorEnabled(stream: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '') && env.TERM !== 'dumb';
}

export const colors = (stream: Stream = process.stdout) => createColors(colorEnabled(stream));

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export type Cell = string | number | boolean | null | undefined;

/** A column: its header and how to read it from a row. */
export type Column<T> = readonly [header: string, cell: (row: T) => Cell];

const text = (c: Cell) => (c === null || c === undefined || c === '' ? '-' : String(c));

/** Rows under a header; `empty` is said (on stderr when piped: an empty table prints nothing to parse). */
export function printTable<T>(rows: readonly T[], columns: readonly Column<T>[], empty: string): void {
  if (rows.length === 0) {
    (process.stdout.isTTY ? process.stdout : process.stderr).write(`${empty}\n`);
    return;
  }
  const headers = columns.map(([h]) => h);
  const cells = rows.map((r) => columns.map(([, cell]) => text(cell(r))));
  if (process.stdout.isTTY) {
    const c = colors();
    const table = new Table({ head: headers.map((h) => c.bold(c.cyan(h))), style: { head: [], border: [] } });
    table.push(...cells);
    process.stdout.write(table.toString() + '\n');
    return;
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  process.stdout.write([line(headers), ...cells.map(line)].join('\n') + '\n');
}

/** `label: value` lines, labels aligned. */
export function printRecord(pairs: readonly (readonly [label: string, value: Cell])[]): void {
  const width = Math.max(...pairs.map(([l]) => l.length)) + 1;
  const c = colors();
  process.stdout.write(pairs.map(([l, v]) => `${c.bold(`${l}:`.padEnd(width))} ${text(v)}`).join('\n') + '\n');
}

/** What a command did, e.g. "disabled client d1": every command that changes something says so. */
export function printDone(message: string): void {
  process.stdout.write(`${colors().green('✔')} ${message}\n`);
}

/** A line for people on stdout (not with --json). */
export function printLine(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** A warning: always on stderr, so --json output stays parseable. */
export function warn(message: string): void {
  process.stderr.write(`${colors(process.stderr).yellow('warning:')} ${message}\n`);
}

/** The same JSON-or-people choice for every command. */
export function emit(flags: JsonFlag, json: unknown, human: () => void): void {
  if (flags.json) printJson(json);
  else human();
}

/** Epoch ms or an ISO string to ISO-8601 (UTC, milliseconds); null stays null. */
export function isoTime(t: number | string | null | undefined): string | null {
  if (t === null || t === undefined) return null;
  return new Date(t).toISOString();
}
