/**
 * RFC 6749 §3.3: scope = scope-token *( SP scope-token ); scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
 * A request for a scope the client may not have fails whole (invalid_scope); an omitted scope gets the defaults.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidScopeString } from '../../src/model/scope.js';
import { grantScopes, parseScope } from '../../src/protocol/scope.js';
import { resolveScope } from '../../src/protocol/token-endpoint.js';
import { throwsOAuthError } from '../helpers/oauth-assert.js';
import { fakeClient } from '../helpers/protocol-fakes.js';

const MALFORMED = { code: 'invalid_scope', status: 400, description: 'the scope parameter is malformed' } as const;
const NOT_ALLOWED = { code: 'invalid_scope', status: 400, description: 'a requested scope is not allowed for this client' } as const;

describe('scope grammar', () => {
  const valid: [string, string[]][] = [
    ['consumer', ['consumer']],
    ['consumer otp', ['consumer', 'otp']],
    ['otp consumer otp', ['otp', 'consumer']],
    ['!', ['!']],
    ['#$%&\'()*+,-./:;<=>?@[]^_`{|}~', ['#$%&\'()*+,-./:;<=>?@[]^_`{|}~']],
    ['urn:bank:scope/read', ['urn:bank:scope/read']],
  ];
  for (const [scope, tokens] of valid) {
    it(`reads ${JSON.stringify(scope)} as ${JSON.stringify(tokens)} (distinct, in request order)`, () => {
      assert.equal(isValidScopeString(scope), true);
      assert.deepEqual(parseScope(scope), tokens);
    });
  }
  const malformed: [string, string][] = [
    ['empty', ''],
    ['a double quote (%x22)', 'a"b'],
    ['a backslash (%x5C)', 'a\\b'],
    ['two spaces between tokens', 'a  b'],
    ['a leading space', ' a'],
    ['a trailing space', 'a '],
    ['a tab', 'a\tb'],
    ['a newline', 'a\nb'],
    ['a DEL (%x7F)', 'a\x7f'],
    ['a NUL', 'a\x00'],
    ['a non-ASCII letter', 'café'],
  ];
  for (const [name, scope] of malformed) {
    it(`refuses ${name}`, () => {
      assert.equal(isValidScopeString(scope), false);
      throwsOAuthError(() => parseScope(scope), MALFORMED);
    });
  }
});

describe('scope policy of the client', () => {
  const policy = { allowedScopes: ['consumer', 'otp'], defaultScopes: ['consumer'] };
  it('an omitted scope gets the default scopes', () => assert.deepEqual(grantScopes(undefined, policy), ['consumer']));
  it('an allowed subset is granted as asked', () => assert.deepEqual(grantScopes(['otp'], policy), ['otp']));
  it('one scope outside the allowed set fails the whole request, the scope named only in the detail', () =>
    throwsOAuthError(() => grantScopes(['consumer', 'admin'], policy), { ...NOT_ALLOWED, detail: /^scope admin not allowed$/ }));
  it('scopes compare exactly (no case folding)', () => throwsOAuthError(() => grantScopes(['Consumer'], policy), NOT_ALLOWED));
  it('a client with no allowed scope gets nothing it asks for', () =>
    throwsOAuthError(() => grantScopes(['consumer'], { allowedScopes: [], defaultScopes: [] }), NOT_ALLOWED));
});

describe('resolveScope (the token endpoint step)', () => {
  const client = fakeClient();
  it('no scope parameter: defaults', () => assert.deepEqual(resolveScope(new Map(), client), ['consumer']));
  it('a scope parameter: parsed, then checked', () => assert.deepEqual(resolveScope(new Map([['scope', 'otp consumer otp']]), client), ['otp', 'consumer']));
  it('malformed before not allowed', () => throwsOAuthError(() => resolveScope(new Map([['scope', 'admin  otp']]), client), MALFORMED));
  it('not allowed', () => throwsOAuthError(() => resolveScope(new Map([['scope', 'admin']]), client), NOT_ALLOWED));
});
