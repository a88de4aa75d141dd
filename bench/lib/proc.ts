// Linux /proc sampling for a server process tree (the spawned process plus all its descendants,
// so node:cluster workers are included).

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

let clkTck = 100;
try {
  const v = Number.parseInt(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim(), 10);
  if (Number.isInteger(v) && v > 0) clkTck = v;
} catch {
  // keep the Linux default
}

interface StatFields {
  ppid: number;
  /** utime + stime, clock ticks */
  ticks: number;
}

function readStat(pid: number): StatFields | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: split after the LAST ')'.
  const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  // rest[0] = state (field 3), rest[1] = ppid (4), rest[11] = utime (14), rest[12] = stime (15)
  const ppid = Number(rest[1]);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { ppid, ticks: utime + stime };
}

/** The root pid and every live descendant. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (!st) continue;
    const list = children.get(st.ppid);
    if (list) list.push(pid);
    else children.set(st.ppid, [pid]);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (readStat(pid) === undefined) continue;
    out.push(pid);
    for (const c of children.get(pid) ?? []) queue.push(c);
  }
  return out;
}

/** CPU time (user+system, ticks) per pid of the tree. */
export function cpuTicks(pids: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of pids) {
    const st = readStat(pid);
    if (st) m.set(pid, st.ticks);
  }
  return m;
}

/** CPU seconds consumed between two snapshots (processes that appeared in between count from 0). */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks / clkTck;
}

function statusKb(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return m?.[1] !== undefined ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Sum of VmHWM (peak RSS) over the tree, MiB. */
export function peakRssMiB(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) kb += statusKb(pid, 'VmHWM');
  return kb / 1024;
}

/** Sum of VmRSS (current RSS) over the tree, MiB. */
export function rssMiB(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) kb += statusKb(pid, 'VmRSS');
  return kb / 1024;
}

/**
 * Reset the peak-RSS watermark (VmHWM := VmRSS) of each process, via `echo 5 > /proc/PID/clear_refs`
 * (Linux >= 4.0, needs ownership of the process). Returns false if any reset failed, in which case
 * VmHWM is the peak since process start.
 */
export function resetPeakRss(pids: readonly number[]): boolean {
  let ok = true;
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
}

/**
 * Machine-wide busy CPU time (all cores; user+nice+system+steal), seconds. irq/softirq are left out:
 * under load they are mostly the loopback traffic between load generator and server, which the
 * kernel does not charge to either process.
 */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '));
    if (!line) return Number.NaN;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , , , steal = 0] = f;
    return (user + nice + system + steal) / clkTck;
  } catch {
    return Number.NaN;
  }
}
