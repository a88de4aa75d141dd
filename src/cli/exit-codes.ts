/** The CLI's exit codes (defined with the error table, which gives each error its code) and its usage error. */
import { D1AuthzError } from '../errors/d1authz-error.js';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../errors/exit-codes.js';

/** A command line or input file that cannot be acted on: exit 2. */
export class UsageError extends D1AuthzError {
  override readonly name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
  }
}
