/**
 * How many processes `serve` runs when neither --workers nor D1AUTHZ_WORKERS says. One process
 * already keeps two cores busy (the event loop, and token signing on libuv's thread pool), so on
 * one or two CPUs a cluster adds a primary process, IPC and a second heap for no more tokens; beyond
 * two CPUs one worker per CPU is what uses them (docs/performance.md).
 */
export const SINGLE_PROCESS_UP_TO_CPUS = 2;

export function defaultWorkers(cpus: number): number {
  return cpus <= SINGLE_PROCESS_UP_TO_CPUS ? 1 : cpus;
}
