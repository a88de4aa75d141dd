/** RFC 6749 §2.3.1 form-urlencodes id and secret before base64; the contract says base64URL; clients differ. Pin what we accept. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SECRET = 'p+s/w:o%rd é=?&' + 'x'.repeat(24);
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const formEncode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);

describe('Basic credentials: encodings we accept', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.createClient('bank.d1_client-01', {}, { secret: SECRET });
  });
  after(() => server.close());

  const cases: [string, () => string][] = [
    ['form-urlencoded id and secret, standard base64 (RFC 6749)', () => 'Basic ' + b64(`${formEncode('bank.d1_client-01')}:${formEncode(SECRET)}`)],
    ['percent-encoded with encodeURIComponent', () => 'Basic ' + b64(`bank.d1_client-01:${encodeURIComponent(SECRET)}`)],
    ['raw secret, not encoded (common in the field)', () => 'Basic ' + b64(`bank.d1_client-01:${SECRET}`)],
    ['base64url alphabet, unpadded (the contract wording)', () => 'Basic ' + b64url(`bank.d1_client-01:${encodeURIComponent(SECRET)}`)],
    ['lower-case scheme and extra spaces', () => 'basic   ' + b64(`bank.d1_client-01:${encodeURIComponent(SECRET)}`)],
    ['upper-case scheme', () => 'BASIC ' + b64(`bank.d1_client-01:${encodeURIComponent(SECRET)}`)],
  ];
  for (const [name, header] of cases) {
    it(name, async () => {
      const res = await server.post('grant_type=client_credentials', { ...FORM, authorization: header() });
      assert.equal(res.status, 200, JSON.stringify(res.json));
    });
  }

  it('splits on the first colon: a colon inside the secret is part of the secret', async () => {
    await server.createClient('colon', {}, { secret: 'a:b:c' + 'y'.repeat(30) });
    const res = await server.post('grant_type=client_credentials', { ...FORM, authorization: 'Basic ' + b64('colon:a:b:c' + 'y'.repeat(30)) });
    assert.equal(res.status, 200);
  });

  it('a secret holding "+" and a valid %XX works sent raw and sent encoded (one form is hashed)', async () => {
    const secret = 'ab+cd/ef%41==' + 'z'.repeat(24); // a standard-base64-looking secret, as D1 may dictate
    await server.createClient('plus', {}, { secret });
    for (const sent of [secret, encodeURIComponent(secret), formEncode(secret)]) {
      const res = await server.post('grant_type=client_credentials', { ...FORM, authorization: 'Basic ' + b64(`plus:${sent}`) });
      assert.equal(res.status, 200, `${sent}: ${JSON.stringify(res.json)}`);
    }
  });

  it('the contract example header (padded standard base64) works', async () => {
    await server.createClient('is_tbank01', {}, { secret: '123', force: true });
    const res = await server.post('grant_type=client_credentials', { ...FORM, authorization: 'Basic aXNfdGJhbmswMToxMjM=' });
    assert.equal(res.status, 200);
  });
});
