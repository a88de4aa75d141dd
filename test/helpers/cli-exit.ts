/** Runs the real CLI in a folder of the test's choice and waits (with a bound) for it to exit: start-up refusals. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CliResult } from './process.js';

const MAIN = fileURLToPath(new URL('../../src/cli/bin.cts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A process that should stop at start-up; one that is still running after `boundMs` (it started) fails the test. */
export function cliExit(args: string[], env: Record<string, string>, options: { cwd?: string; boundMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // tsx by absolute URL: a bare `--import tsx` is resolved from the child's folder, which may be anywhere.
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, ...args], { env, cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`d1-authz ${args.join(' ')} did not exit within ${options.boundMs ?? 120_000} ms (it started?): ${stderr}${stdout}`));
    }, options.boundMs ?? 120_000);
    // A server that got as far as listening did not refuse: fail at once rather than after the bound.
    const startedServing = () => {
      if (!/d1-authz (gateway )?listening/.test(stdout + stderr)) return;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`d1-authz ${args.join(' ')} started serving instead of refusing: ${stderr}${stdout}`));
    };
    child.stdout.on('data', (d) => ((stdout += d), startedServing()));
    child.stderr.on('data', (d) => ((stderr += d), startedServing()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
