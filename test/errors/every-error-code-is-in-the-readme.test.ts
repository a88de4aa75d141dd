/**
 * The README's "Errors" table and the error table the server reads list the same codes, with the same
 * HTTP answer, admin answer and exit code; every error class of the server, CLI, gateway and guard is
 * of the family (the server's root or the guard's) with a code of the table; and the guard's root,
 * codes and serializer agree with the server's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as guardBody from '../../packages/guard/src/error-body.js';
import { D1AuthzError as GuardRoot } from '../../packages/guard/src/error-family.js';
import { GUARD_ERROR_CODES } from '../../packages/guard/src/error-codes.js';
import { GuardError } from '../../packages/guard/src/errors.js';
import { D1AuthzError } from '../../src/errors/d1authz-error.js';
import * as serverBody from '../../src/errors/error-body.js';
import { ERROR_TABLE, errorEntry, type ErrorEntry } from '../../src/errors/error-table.js';
import { AdminApiError } from '../../src/admin/errors.js';
import { UsageError } from '../../src/cli/exit-codes.js';
import { ConfigError } from '../../src/config/load.js';
import { AdminCapacityError, AdminTokenError } from '../../src/domain/admin/admin-tokens.js';
import { StoreUnavailableError } from '../../src/domain/clients/client-directory.js';
import { ClientAdminError, ClientChangedError, ClientExistsError, ClientNotFoundError } from '../../src/domain/clients/client-service.js';
import { ClientTlsSettingError } from '../../src/domain/clients/client-tls.js';
import { HashCapacityError } from '../../src/domain/clients/fair-hash-scheduler.js';
import { KeyAdminError } from '../../src/domain/keys/key-service.js';
import { MasterKeyError } from '../../src/domain/keys/local/master-key.js';
import { KeyProviderError, KeyUnavailableError } from '../../src/domain/keys/signer.js';
import { LockedOutError } from '../../src/domain/lockout/lockout.js';
import { NoSigningKeyError } from '../../src/domain/tokens/token-issuer.js';
import { GatewayConfigError } from '../../src/gateway/config.js';
import { toOAuthError } from '../../src/http/error-boundary.js';
import { DistinguishedNameError } from '../../src/model/distinguished-name.js';
import { OAuthError, invalidClient, lockedOut, temporarilyUnavailable } from '../../src/protocol/oauth-error.js';
import { StoreSetupError } from '../../src/store/database.js';
import { AmbiguousKeyError, JwksUnavailableError, NoMatchingKeyError } from '../../packages/guard/src/jwks.js';
import { IntrospectionError } from '../../packages/guard/src/introspection.js';
import { RevocationFeedError } from '../../packages/guard/src/revocation-feed.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

interface Row {
  readonly http: string;
  readonly error: string;
  readonly admin: string;
  readonly exit: string;
}

function readmeRows(): Map<string, Row> {
  const start = README.indexOf('\n## Errors\n');
  assert.ok(start >= 0, 'README has an "## Errors" section');
  const end = README.indexOf('\n## ', start + 1);
  const rows = new Map<string, Row>();
  for (const line of README.slice(start, end).split('\n')) {
    const m = /^\| `(ERR_[A-Z0-9_]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| [^|]+ \|$/.exec(line);
    if (!m) continue;
    assert.ok(!rows.has(m[1]!), `${m[1]} is listed once`);
    rows.set(m[1]!, { http: m[2]!.trim(), error: m[3]!.trim(), admin: m[4]!.trim(), exit: m[5]!.trim() });
  }
  return rows;
}

const expected = (e: ErrorEntry): Row => ({
  http: e.http ? String(e.http.status) : '—',
  error: e.http ? `\`${e.http.error}\`` : '—',
  admin: e.admin ? `${e.admin.status} \`${e.admin.error}\`` : '—',
  exit: String(e.exit),
});

describe('the error table', () => {
  it('the README lists every code of the table, with its answers and exit code', () => {
    const rows = readmeRows();
    for (const [code, entry] of Object.entries(ERROR_TABLE)) {
      const row = rows.get(code);
      assert.ok(row, `${code} is in the README's Errors table`);
      assert.deepEqual(row, expected(entry), code);
    }
  });

  it('the README lists no code the table does not have', () => {
    for (const code of readmeRows().keys()) assert.ok(Object.hasOwn(ERROR_TABLE, code), `${code} (README) is in src/errors/error-table.ts`);
  });

  it('has the guard\'s codes, with the guard\'s answers and meanings, and no other ERR_GUARD_ code', () => {
    for (const [code, g] of Object.entries(GUARD_ERROR_CODES)) {
      const entry = errorEntry(code as `ERR_${string}`);
      assert.ok(entry, code);
      assert.equal(entry.meaning, g.meaning, code);
      if ('status' in g) assert.deepEqual(entry.http, { status: g.status, error: g.oauthError }, code);
      else assert.equal(entry.http, undefined, code);
    }
    for (const code of Object.keys(ERROR_TABLE).filter((c) => c.startsWith('ERR_GUARD_'))) assert.ok(Object.hasOwn(GUARD_ERROR_CODES, code), code);
  });

  it('the guard\'s root has the server root\'s fields, set the same way', () => {
    const init = { status: 503, oauthError: 'temporarily_unavailable', description: 'public', detail: 'private', cause: 'why' };
    const server = new D1AuthzError('ERR_X', 'message', init);
    const guard = new GuardRoot('ERR_X', 'message', init);
    assert.deepEqual(Object.keys(guard).sort(), Object.keys(server).sort());
    for (const key of ['errorCode', 'status', 'oauthError', 'description', 'detail', 'message', 'cause'] as const) assert.equal(guard[key], server[key], key);
    assert.equal(new GuardRoot('ERR_X', 'm').description, new D1AuthzError('ERR_X', 'm').description);
  });

  it('the guard\'s serializer writes the server\'s bytes', () => {
    const texts = ['plain', 'with "quotes" and \\ backslash', 'tab\tand\r\nnewline', 'non-ascii é ✓', ''];
    for (const t of texts) {
      assert.equal(guardBody.errorBody('invalid_request', t), serverBody.errorBody('invalid_request', t), t);
      assert.equal(guardBody.quoteHeaderValue(t), serverBody.quoteHeaderValue(t), t);
      const challenge = { realm: t, error: 'invalid_token', description: t, scope: 'a b' };
      assert.equal(guardBody.bearerChallenge(challenge), serverBody.bearerChallenge(challenge), t);
      assert.equal(guardBody.bearerChallenge({ realm: t }), serverBody.bearerChallenge({ realm: t }), t);
      assert.equal(guardBody.basicChallenge(t), serverBody.basicChallenge(t), t);
    }
    assert.equal(serverBody.errorBody('invalid_request', 'x'), '{"error":"invalid_request","error_description":"x"}');
  });

  it('every error class is a D1AuthzError with a code of the table', () => {
    const errors: (D1AuthzError | GuardRoot)[] = [
      new OAuthError('invalid_request', 400, 'x'),
      invalidClient('d'),
      lockedOut(3, 'd'),
      temporarilyUnavailable('d'),
      new AdminApiError('conflict', 409, 'x'),
      new UsageError('x'),
      new ConfigError('x'),
      new AdminTokenError('x'),
      new AdminCapacityError('x'),
      new StoreUnavailableError('x'),
      new ClientAdminError('x'),
      new ClientNotFoundError('x'),
      new ClientExistsError('x'),
      new ClientChangedError('x'),
      new ClientTlsSettingError('x'),
      new HashCapacityError('x'),
      new KeyAdminError('x'),
      new MasterKeyError('x'),
      new KeyProviderError('x'),
      new KeyUnavailableError('x'),
      new LockedOutError(3, 'x'),
      new NoSigningKeyError('x'),
      new GatewayConfigError('x'),
      new DistinguishedNameError('x'),
      new StoreSetupError('x'),
      new GuardError({ status: 401, code: undefined, description: 'x', realm: 'r' }),
      new GuardError({ status: 403, code: 'insufficient_scope', description: 'x', realm: 'r' }),
      new JwksUnavailableError('x'),
      new NoMatchingKeyError(),
      new AmbiguousKeyError(),
      new IntrospectionError('x'),
      new RevocationFeedError('x'),
    ];
    for (const err of errors) {
      // The guard's classes are of the guard's root, every other of the server's.
      const guardClass = err instanceof GuardError || err instanceof JwksUnavailableError || err instanceof NoMatchingKeyError || err instanceof AmbiguousKeyError || err instanceof IntrospectionError || err instanceof RevocationFeedError;
      assert.ok(guardClass ? err instanceof GuardRoot : err instanceof D1AuthzError, err.name);
      assert.match(err.errorCode, /^ERR_[A-Z0-9_]+$/, err.name);
      assert.ok(errorEntry(err.errorCode), `${err.name}: ${err.errorCode} is in the table`);
    }
  });

  it('the table decides the answer: codes, statuses, Retry-After, and what stays private', () => {
    const cases: [D1AuthzError, number, string, string | undefined][] = [
      [new StoreUnavailableError('db down'), 503, 'temporarily_unavailable', '5'],
      [new KeyUnavailableError('hsm lost'), 503, 'temporarily_unavailable', '2'],
      [new NoSigningKeyError('none'), 503, 'temporarily_unavailable', '1'],
      [new LockedOutError(7, 'locked'), 429, 'temporarily_unavailable', '7'],
      [new ClientNotFoundError('no client x'), 400, 'invalid_request', undefined],
      [new ConfigError('bad'), 500, 'server_error', undefined],
    ];
    for (const [err, status, code, retryAfter] of cases) {
      const answer = toOAuthError(err);
      assert.equal(answer.status, status, err.name);
      assert.equal(answer.code, code, err.name);
      assert.equal(answer.headers?.['retry-after'], retryAfter, err.name);
      if (status !== 500) assert.equal(answer.errorCode, err.errorCode, err.name);
      if (err instanceof StoreUnavailableError) assert.ok(!answer.description.includes('db down') && answer.detail === 'db down');
    }
  });
});
