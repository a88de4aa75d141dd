/**
 * The CLI's two audiences. People: tables with headers and readable log lines on a terminal (a real
 * pseudo-terminal, made by util-linux `script`), plain aligned columns when piped, no colour with
 * NO_COLOR. Scripts: `--json` on every command, snake_case keys, ISO-8601 times; exit codes 0 / 1 / 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { TestDatabase } from '../helpers/database.js';
import { migratedCliDatabase, runCli, type CliResult } from '../helpers/process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/bin.cts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ANSI = /\x1b\[[0-9;]*m/;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI with stdout and stderr on a pseudo-terminal, as in an operator's shell. */
function runInTerminal(args: string[], env: Record<string, string>): Promise<CliResult> {
  const command = [process.execPath, '--import', 'tsx', MAIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { TERM: 'xterm-256color', COLUMNS: '200', ...env }, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout.replace(/\r\n/g, '\n'), stderr: '' }));
  });
}

/** Every key of every object in `value`, at any depth. */
function keysOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      keysOf(v, out);
    }
  }
  return out;
}

/** Values of keys ending in _at that hold a time (expires_at of a client is its on/off setting). */
function timesOf(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) timesOf(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith('_at') && !['on', 'off'].includes(v as string)) out.push(v);
      timesOf(v, out);
    }
  }
  return out;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('CLI output for people and for scripts', () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, env);

  before(async () => {
    ({ db, env } = await migratedCliDatabase());
  });
  after(() => db?.drop());

  it('--json on every command: one JSON document, snake_case keys, ISO-8601 times', async () => {
    const runs: [string, CliResult][] = [];
    const run = async (...args: string[]) => {
      const r = await cli(...args, '--json');
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      runs.push([args.join(' '), r]);
      return JSON.parse(r.stdout);
    };
    assert.ok(Array.isArray((await run('migrate')).applied));
    const created = await run('client', 'create', 'json-1', '--scopes', 'consumer otp', '--default-scopes', 'consumer', '--expires-in-format', 'number');
    assert.equal(created.client_id, 'json-1');
    assert.deepEqual(created.scopes, ['consumer', 'otp']);
    assert.equal(created.expires_in_format, 'number');
    assert.match(created.client_secret, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await run('client', 'list'))[0].client_id, 'json-1');
    const shown = await run('client', 'show', 'json-1');
    assert.equal(shown.default_scopes[0], 'consumer');
    assert.equal('client_secret' in shown, false);
    assert.equal((await run('client', 'update', 'json-1', '--ttl', '600')).token_ttl, 600);
    assert.equal((await run('client', 'update', 'json-1', '--ttl', 'default', '--audience', 'default')).token_ttl, null);
    assert.deepEqual(await run('client', 'disable', 'json-1'), { client_id: 'json-1', action: 'disabled', enabled: false });
    assert.deepEqual(await run('client', 'enable', 'json-1'), { client_id: 'json-1', action: 'enabled', enabled: true });
    assert.ok((await run('client', 'rotate-secret', 'json-1', '--grace', '60')).old_secrets_expire_at);
    assert.ok(Array.isArray((await run('client', 'export')).clients));
    assert.ok(Array.isArray(await run('keys', 'list')));
    assert.equal((await run('keys', 'rotate', '--activate-in', '3600')).state, 'pending');
    assert.deepEqual(await run('client', 'delete', 'json-1'), { client_id: 'json-1', action: 'deleted' });
    for (const [what, r] of runs) {
      const doc = JSON.parse(r.stdout);
      for (const key of keysOf(doc)) assert.match(key, /^[a-z][a-z0-9_]*$/, `${what}: key ${key} is not snake_case`);
      for (const t of timesOf(doc)) assert.ok(t === null || (typeof t === 'string' && ISO.test(t)), `${what}: time ${t} is not ISO-8601`);
    }
  });

  it('piped: a header line and aligned columns, no box, no colour; an empty list says so on stderr', async () => {
    const empty = await cli('client', 'list');
    assert.equal(empty.code, 0);
    assert.equal(empty.stdout, '');
    assert.match(empty.stderr, /no clients/);
    await cli('client', 'create', 'piped-a', '--scopes', 'consumer');
    await cli('client', 'create', 'piped-b', '--name', 'Partner B');
    const r = await cli('client', 'list');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^CLIENT_ID +NAME +STATE +SCOPES +DEFAULT +AUTH +TTL$/);
    assert.match(lines[1]!, /^piped-a +- +enabled +consumer +- +client_secret_basic +default$/);
    assert.match(lines[2]!, /^piped-b +Partner B +enabled/);
    assert.doesNotMatch(r.stdout, /[┌│]|\x1b\[/);
    const keys = await cli('keys', 'list');
    assert.match(keys.stdout, /^KID +ALG +PROVIDER +STATE +ACTIVATES +RETIRES +REVOKED +DESTROYED\n/);
  });

  it('on a terminal: a boxed table with a coloured header; NO_COLOR keeps the table and drops the colour', async () => {
    const tty = await runInTerminal(['client', 'list'], env);
    assert.equal(tty.code, 0, tty.stdout);
    assert.match(tty.stdout, /┌─/);
    assert.match(tty.stdout, /│ .*CLIENT_ID.* │/);
    assert.match(tty.stdout, /│ piped-a +│/);
    assert.match(tty.stdout, ANSI);
    const plain = await runInTerminal(['client', 'list'], { ...env, NO_COLOR: '1' });
    assert.match(plain.stdout, /│ CLIENT_ID +│ NAME/);
    assert.doesNotMatch(plain.stdout, ANSI);
  });

  it('commands that change something say what they did', async () => {
    await cli('client', 'create', 'said');
    assert.match((await cli('client', 'disable', 'said')).stdout, /disabled client said/);
    assert.match((await cli('client', 'enable', 'said')).stdout, /enabled client said/);
    assert.match((await cli('client', 'update', 'said', '--ttl', '60')).stdout, /updated client said/);
    assert.match((await cli('client', 'delete', 'said')).stdout, /deleted client said/);
    assert.match((await cli('migrate')).stdout, /the schema is current/);
  });

  it('log lines: readable on a terminal, JSON lines when piped', async () => {
    // An unknown setting let through by D1AUTHZ_ALLOW_UNKNOWN_SETTINGS is logged as a warning by every admin command.
    const warned = { ...env, D1AUTHZ_ALLOW_UNKNOWN_SETTINGS: 'true', D1AUTHZ_NO_SUCH_SETTING: '1' };
    const tty = await runInTerminal(['client', 'list'], { ...warned, NO_COLOR: '1' });
    assert.match(tty.stdout, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: unknown setting ignored/m);
    assert.doesNotMatch(tty.stdout, /"level":/);
    const piped = await runCli(['client', 'list'], warned);
    const line = JSON.parse(piped.stderr.split('\n').find((l) => l.startsWith('{'))!);
    assert.equal(line.level, 40);
    assert.match(line.msg, /unknown setting ignored/);
  });

  it('--help describes every command', async () => {
    for (const group of [[], ['client'], ['keys']]) {
      const help = await cli(...group, '--help');
      assert.equal(help.code, 0);
      const commands = help.stdout.split('\nCommands:\n')[1]!.split('\n\n')[0]!.split('\n').filter((l) => /^ {2}\S/.test(l));
      assert.ok(commands.length >= 2, `${group.join(' ')} lists its commands`);
      for (const line of commands) {
        if (line.startsWith('  help ')) continue;
        assert.match(line, /^ {2}\S.*\S {2,}\S/, `"${line.trim()}" has a description`);
      }
    }
  });

  it('exit codes: 0 done, 1 failed operation, 2 bad usage or configuration', async () => {
    assert.equal((await cli('client', 'show', 'nobody')).code, 1);
    const unknownOption = await cli('client', 'list', '--bogus');
    assert.equal(unknownOption.code, 2);
    assert.match(unknownOption.stderr, /unknown option '--bogus'/);
    assert.equal((await cli('no-such-command')).code, 2);
    assert.equal((await cli('client', 'create')).code, 2, 'missing argument');
    assert.equal((await cli('client', 'update', 'piped-a', '--ttl', 'soon')).code, 2, 'invalid value');
    assert.equal((await cli('client', 'update', 'piped-a', '--expires-at', 'maybe')).code, 2, 'invalid choice');
    assert.equal((await cli('client')).code, 2, 'a command group without its command');
    assert.equal((await cli('--help')).code, 0);
    const dir = mkdtempSync(join(tmpdir(), 'd1authz-conf-'));
    try {
      const file = join(dir, 'broken.yaml');
      writeFileSync(file, 'tokenTtl: [900\n');
      const broken = await cli('--config', file, 'client', 'list');
      assert.equal(broken.code, 2);
      assert.match(broken.stderr, new RegExp(`config file ${file.replace(/[/.]/g, '\\$&')}: not valid YAML`));
      const json = join(dir, 'broken.json');
      writeFileSync(json, '{"tokenTtl": 900,}');
      const brokenJson = await runCli(['client', 'list'], { ...env, D1AUTHZ_CONFIG: json });
      assert.equal(brokenJson.code, 2);
      assert.match(brokenJson.stderr, /broken\.json: not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
