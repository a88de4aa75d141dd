/** Asserts on the OAuthError a protocol step throws: the parts a client sees, and the private detail. */
import assert from 'node:assert/strict';
import { OAuthError, type OAuthErrorCode } from '../../src/protocol/oauth-error.js';

export interface ExpectedOAuthError {
  readonly code: OAuthErrorCode;
  readonly status: number;
  /** The public error_description, exactly. */
  readonly description: string;
  /** The private detail (logged, never sent): a pattern, since it may carry ids. */
  readonly detail?: RegExp;
}

export function assertOAuthError(err: unknown, expected: ExpectedOAuthError): true {
  assert.ok(err instanceof OAuthError, `expected an OAuthError, got ${String(err)}`);
  assert.equal(err.code, expected.code);
  assert.equal(err.status, expected.status);
  assert.equal(err.description, expected.description);
  assert.deepEqual(err.toJSON(), { error: expected.code, error_description: expected.description });
  if (expected.detail) assert.match(err.detail ?? '', expected.detail);
  return true;
}

export function throwsOAuthError(step: () => unknown, expected: ExpectedOAuthError): void {
  assert.throws(step, (err) => assertOAuthError(err, expected));
}

export async function rejectsOAuthError(step: () => Promise<unknown>, expected: ExpectedOAuthError): Promise<void> {
  await assert.rejects(step, (err) => assertOAuthError(err, expected));
}

/** RFC 6749 §5.2: every client authentication failure looks the same to the client. */
export const invalidClientError = (detail?: RegExp): ExpectedOAuthError => ({
  code: 'invalid_client',
  status: 401,
  description: 'client authentication failed',
  ...(detail ? { detail } : {}),
});

export const invalidRequestError = (description: string): ExpectedOAuthError => ({ code: 'invalid_request', status: 400, description });
