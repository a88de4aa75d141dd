import { randomUUID } from 'node:crypto';

// The pattern D1 uses for x-correlation-id.
const CORRELATION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The caller's id when valid (never echo an invalid one: header injection, log forging), else a new one. */
export function correlationIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && CORRELATION_ID.test(header) ? header : randomUUID();
}
