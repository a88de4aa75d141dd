/** The token request body (RFC 6749 §3.1, §3.2): what content types pass, how the form is read, what is refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertFormContentType, parseFormBody } from '../../src/protocol/form-body.js';
import { readParameters } from '../../src/protocol/token-endpoint.js';
import { invalidRequestError, throwsOAuthError } from '../helpers/oauth-assert.js';
import { tokenRequest } from '../helpers/protocol-fakes.js';

const NOT_FORM = 'content-type must be application/x-www-form-urlencoded';

describe('form body: content type (RFC 6749 §3.2)', () => {
  for (const ok of [
    'application/x-www-form-urlencoded',
    'Application/X-WWW-Form-Urlencoded',
    ' application/x-www-form-urlencoded ',
    'application/x-www-form-urlencoded; charset=utf-8',
    'application/x-www-form-urlencoded;charset=UTF-8',
    'application/x-www-form-urlencoded; charset="utf-8"',
    'application/x-www-form-urlencoded; charset=utf8',
    'application/x-www-form-urlencoded; charset=us-ascii',
    'application/x-www-form-urlencoded; boundary=x',
  ]) {
    it(`accepts ${JSON.stringify(ok)}`, () => assert.doesNotThrow(() => assertFormContentType(ok)));
  }
  const refused: [string, string | undefined, string][] = [
    ['no content type', undefined, NOT_FORM],
    ['an empty content type', '', NOT_FORM],
    ['JSON', 'application/json', NOT_FORM],
    ['multipart', 'multipart/form-data; boundary=x', NOT_FORM],
    ['a look-alike', 'application/x-www-form-urlencodedx', NOT_FORM],
    ['latin-1', 'application/x-www-form-urlencoded; charset=iso-8859-1', 'only the UTF-8 charset is supported'],
    ['an empty charset', 'application/x-www-form-urlencoded; charset=', 'only the UTF-8 charset is supported'],
    ['UTF-16', 'application/x-www-form-urlencoded; CHARSET=utf-16', 'only the UTF-8 charset is supported'],
  ];
  for (const [name, contentType, description] of refused) {
    it(`refuses ${name}`, () => throwsOAuthError(() => assertFormContentType(contentType), invalidRequestError(description)));
  }
  it('names the refused media type in the private detail only, capped', () => {
    throwsOAuthError(() => assertFormContentType('text/' + 'x'.repeat(200)), { ...invalidRequestError(NOT_FORM), detail: /^got text\/x{59}$/ });
  });
});

describe('form body: parameters (RFC 6749 §3.1, §3.2)', () => {
  it('decodes form-urlencoding: + is a space, %XX a byte', () => {
    const params = parseFormBody('grant_type=client_credentials&scope=consumer+otp&x=%C3%A9%2B');
    assert.deepEqual([...params], [
      ['grant_type', 'client_credentials'],
      ['scope', 'consumer otp'],
      ['x', 'é+'],
    ]);
  });
  it('treats a parameter without a value as omitted (§3.1)', () => {
    const params = parseFormBody('grant_type=client_credentials&scope=&client_id');
    assert.deepEqual([...params.keys()], ['grant_type']);
  });
  const repeated: [string, string, string][] = [
    ['grant_type twice', 'grant_type=client_credentials&grant_type=client_credentials', 'parameter grant_type is repeated'],
    ['scope twice, different values', 'grant_type=client_credentials&scope=a&scope=b', 'parameter scope is repeated'],
    ['an empty value then a value', 'scope=&scope=a', 'parameter scope is repeated'],
    ['a name with an encoded character', 'a%2Db=1&a%2Db=2', 'parameter a parameter is repeated'],
    ['an over-long name', `${'a'.repeat(33)}=1&${'a'.repeat(33)}=2`, 'parameter a parameter is repeated'],
    ['an upper-case name', 'SCOPE=1&SCOPE=2', 'parameter a parameter is repeated'],
  ];
  for (const [name, body, description] of repeated) {
    it(`refuses ${name} (§3.2: "MUST NOT be included more than once")`, () => throwsOAuthError(() => parseFormBody(body), invalidRequestError(description)));
  }
  for (const body of ['scope=%', 'scope=%zz', 'scope=%4', 'a=1&b=%G0']) {
    it(`refuses a broken percent escape: ${body}`, () =>
      throwsOAuthError(() => parseFormBody(body), invalidRequestError('the request body is not valid form-urlencoded')));
  }
  it('keeps names and values case as sent', () => assert.equal(parseFormBody('Scope=A').get('Scope'), 'A'));
});

describe('form body: readParameters (content type, then the body)', () => {
  it('refuses an empty or absent body', () => {
    throwsOAuthError(() => readParameters(tokenRequest('')), invalidRequestError('the request body is empty'));
    throwsOAuthError(() => readParameters(tokenRequest(undefined)), invalidRequestError('the request body is empty'));
  });
  it('checks the content type before the body', () => {
    throwsOAuthError(() => readParameters(tokenRequest('', { contentType: 'application/json' })), invalidRequestError(NOT_FORM));
  });
  it('returns the parsed form', () => assert.equal(readParameters(tokenRequest('grant_type=client_credentials')).get('grant_type'), 'client_credentials'));
});
