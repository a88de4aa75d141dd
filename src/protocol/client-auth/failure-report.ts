/** Telling the audit trail (onAuthenticationFailure) of a refused client authentication, the same for every method. */
import type { AuthenticationFailureReason, RequestOrigin } from '../../domain/audit/request-audit.js';
import { OAuthError } from '../oauth-error.js';
import type { AuthenticationResult, ClientAuthenticationDeps } from './method.js';

type ReportDeps = Pick<ClientAuthenticationDeps, 'onAuthenticationFailure'>;
export type RefusedReason = Extract<AuthenticationResult, { ok: false }>['reason'];

/** A credential with control characters is never looked up: malformed, and its id says nothing. */
const failureReason = (r: RefusedReason): AuthenticationFailureReason => (r === 'control_characters' ? 'malformed_credentials' : r);
const isKnown = (r: RefusedReason): boolean => r !== 'unknown_client' && r !== 'control_characters';

export function reportFailure(deps: ReportDeps, origin: RequestOrigin | undefined, reason: AuthenticationFailureReason, presentedClientId: string | undefined, knownClient: boolean): void {
  deps.onAuthenticationFailure?.({ presentedClientId, reason, knownClient, origin });
}

/** The domain refused the presented credentials. */
export function reportRefusal(deps: ReportDeps, origin: RequestOrigin | undefined, reason: RefusedReason, presentedClientId: string): void {
  reportFailure(deps, origin, failureReason(reason), presentedClientId, isKnown(reason));
}

/** Runs a step that may refuse the client, reporting an invalid_client refusal as `reason`. */
export function reporting<T>(deps: ReportDeps, origin: RequestOrigin | undefined, failure: () => [AuthenticationFailureReason, string | undefined, boolean], step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_client') reportFailure(deps, origin, ...failure());
    throw err;
  }
}
