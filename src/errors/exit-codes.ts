/**
 * The CLI's exit codes, the same for every command (README "Exit codes"):
 * 0 done; 1 the operation failed (no such client, the store refused, ...); 2 bad usage or
 * configuration (unknown option, invalid value, invalid config or clients file): fix the command.
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
