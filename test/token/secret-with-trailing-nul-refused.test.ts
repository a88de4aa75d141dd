/**
 * scrypt's PBKDF2-HMAC step zero-pads a key shorter than the hash block, so "s" and "s\0" derived
 * the same key: a secret followed by NUL bytes (raw or %00) was accepted. Ids and secrets holding a
 * control character are refused with 401 invalid_client (after the same one hash as any wrong
 * secret: test/hostile/failed-authentication-costs-one-hash.test.ts), and creation refuses a secret
 * that would hold one once decoded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (s: string) => 'Basic ' + Buffer.from(s, 'utf8').toString('base64');

describe('secrets and ids with control characters', () => {
  let server: TestServer;
  let generated: string;
  before(async () => {
    // Lockout off: dozens of refused attempts from one address are the point here; test/lockout/ pins the lockout.
    server = await startTestServer({ lockout: false });
    await server.createClient('nul', {}, { secret: '123', force: true });
    generated = (await server.createClient('gen')).clientSecret;
  });
  after(() => server.close());

  const refused = async (header: string) => {
    const res = await server.post('grant_type=client_credentials', { ...FORM, authorization: header });
    assert.equal(res.status, 401, `${JSON.stringify(header)}: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.error, 'invalid_client');
    assert.equal(typeof res.json.error_description, 'string');
    assert.match(String(res.headers.get('www-authenticate')), /^Basic /);
  };

  it('the right secrets work (the control)', async () => {
    assert.equal((await server.post('grant_type=client_credentials', { ...FORM, authorization: basic('nul:123') })).status, 200);
    assert.equal((await server.token('gen', generated)).status, 200);
  });

  it('a secret followed by %00 or a raw NUL is refused', async () => {
    await refused(basic('nul:123%00'));
    await refused(basic('nul:123\0'));
    await refused(basic('nul:123%00%00'));
    await refused(basic('nul:123%2500'));
  });

  it('a generated 43-character secret followed by 1 to 21 %00 is refused', async () => {
    for (let n = 1; n <= 21; n++) await refused(basic(`gen:${generated}${'%00'.repeat(n)}`));
    await refused(basic(`gen:${generated}${'\0'.repeat(21)}`));
  });

  it('other control characters, in the secret or the id, are refused', async () => {
    await refused(basic('nul:123\n'));
    await refused(basic('nul:123%0A'));
    await refused(basic('nul:123%7F'));
    await refused(basic('nul%00:123'));
    await refused(basic('nul\0:123'));
    await refused(basic('n\tul:123'));
  });

  it('creation refuses a secret that decodes to a control character', async () => {
    await assert.rejects(server.createClient('pct', {}, { secret: 'a'.repeat(32) + '%00' }), /control character/);
    await assert.rejects(server.createClient('pct', {}, { secret: 'a'.repeat(32) + '\0' }), /printable/);
  });
});
