/**
 * HTTP Basic client credentials (RFC 7617, RFC 6749 §2.3.1): "The client identifier is encoded using
 * the application/x-www-form-urlencoded encoding algorithm ... and the encoded value is used as the
 * username; the client password is encoded using the same algorithm and used as the password."
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBasicAuthorization } from '../../src/protocol/basic-auth.js';
import { invalidClientError, throwsOAuthError } from '../helpers/oauth-assert.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('Basic credentials: what is read', () => {
  const read: [string, string, { clientId: string; secret: string }][] = [
    ['plain id and secret', `Basic ${b64('bank-d1:s3cret')}`, { clientId: 'bank-d1', secret: 's3cret' }],
    ['a lower-case scheme and tab', `basic\t${b64('bank-d1:s3cret')}`, { clientId: 'bank-d1', secret: 's3cret' }],
    ['several spaces and trailing blanks', `BASIC   ${b64('bank-d1:s3cret')}  `, { clientId: 'bank-d1', secret: 's3cret' }],
    ['base64url without padding', `Basic ${b64url('bank-d1:s?>s~')}`, { clientId: 'bank-d1', secret: 's?>s~' }],
    ['a colon in the secret (split at the first)', `Basic ${b64('bank-d1:a:b:c')}`, { clientId: 'bank-d1', secret: 'a:b:c' }],
    ['a form-encoded id: %3A is a colon', `Basic ${b64('my%3Aclient:s')}`, { clientId: 'my:client', secret: 's' }],
    ['a form-encoded id: + is a space', `Basic ${b64('my+client:s')}`, { clientId: 'my client', secret: 's' }],
    ['a UTF-8 id, percent-encoded', `Basic ${b64('caf%C3%A9:s')}`, { clientId: 'café', secret: 's' }],
    ['an id that is not valid form-encoding, taken raw', `Basic ${b64('100%:s')}`, { clientId: '100%', secret: 's' }],
    // The domain puts the secret in one decoded form (secret-form.ts): parsing must not decode it first.
    ['a form-encoded secret, kept as sent', `Basic ${b64('bank-d1:a%2Bb+c')}`, { clientId: 'bank-d1', secret: 'a%2Bb+c' }],
    ['a UTF-8 secret', `Basic ${b64('bank-d1:pässwörd')}`, { clientId: 'bank-d1', secret: 'pässwörd' }],
    // Control characters pass parsing; the authenticator refuses them unread (see client-authentication tests).
    ['control characters, passed on', `Basic ${b64('bank-d1:s\u0000')}`, { clientId: 'bank-d1', secret: 's\u0000' }],
  ];
  for (const [name, header, expected] of read) {
    it(name, () => assert.deepEqual({ ...parseBasicAuthorization(header) }, expected));
  }
});

describe('Basic credentials: every malformed header is invalid_client', () => {
  const refused: [string, string, RegExp][] = [
    ['a Bearer header', 'Bearer abc', /^authorization scheme is not Basic$/],
    ['no space after the scheme', `Basic${b64('a:b')}`, /^authorization scheme is not Basic$/],
    ['the scheme alone', 'Basic', /^authorization scheme is not Basic$/],
    ['a scheme that only starts with Basic', `Basicx ${b64('a:b')}`, /^authorization scheme is not Basic$/],
    ['nothing after the scheme', 'Basic  ', /^authorization credentials are not base64$/],
    ['characters outside base64', 'Basic YWJj*ZGVm', /^authorization credentials are not base64$/],
    ['two tokens', `Basic ${b64('a:b')} ${b64('c:d')}`, /^authorization credentials are not base64$/],
    ['three padding characters', 'Basic YQ===', /^authorization credentials are not base64$/],
    ['padding in the middle', 'Basic YQ==YQ==', /^authorization credentials are not base64$/],
    ['a length no base64 has (4n+1)', 'Basic YWJjZ', /^authorization credentials are not base64$/],
    ['bytes that are not UTF-8', `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, /^authorization credentials are not UTF-8$/],
    ['no colon', `Basic ${b64('bank-d1')}`, /^authorization credentials have no colon$/],
    ['an empty id', `Basic ${b64(':secret')}`, /^empty client id or secret$/],
    ['an empty secret', `Basic ${b64('bank-d1:')}`, /^empty client id or secret$/],
    ['just a colon', `Basic ${b64(':')}`, /^empty client id or secret$/],
  ];
  for (const [name, header, detail] of refused) {
    it(name, () => throwsOAuthError(() => parseBasicAuthorization(header), invalidClientError(detail)));
  }
});
