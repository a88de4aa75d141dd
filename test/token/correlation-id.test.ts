import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { sleep } from '../helpers/wait.js';

describe('x-correlation-id', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    await server.createClient('c', {}, { secret: 'c'.repeat(32) });
  });
  after(() => server.close());

  it("echoes D1's id and puts it on the request's log line", async () => {
    const res = await server.token('c', 'c'.repeat(32), undefined, { 'x-correlation-id': 'D1_corr-0123456789' });
    assert.equal(res.headers.get('x-correlation-id'), 'D1_corr-0123456789');
    await sleep(50);
    const tagged = server.logs.map((l) => JSON.parse(l)).filter((l) => l.correlation_id === 'D1_corr-0123456789');
    // One request line, and the audit event of the token it issued carries the same id.
    const lines = tagged.filter((l) => l.msg === 'request');
    assert.equal(lines.length, 1);
    assert.deepEqual(tagged.filter((l) => l.audit !== undefined).map((l) => l.audit), ['token.issued']);
    assert.equal(lines[0].status, 200);
    assert.equal(lines[0].client_id, 'c');
  });

  it('generates one when absent', async () => {
    const res = await server.token('c', 'c'.repeat(32));
    assert.match(res.headers.get('x-correlation-id')!, /^[A-Za-z0-9_-]{1,64}$/);
  });

  it('never echoes an invalid one, on errors too', async () => {
    for (const bad of ['has space', 'semi;colon', 'x'.repeat(65), '<script>', 'a\u00e9b']) {
      const res = await fetch(server.tokenUrl, { method: 'POST', headers: { 'x-correlation-id': encodeURIComponent(bad) === bad ? bad : encodeURI(bad) } });
      const echoed = res.headers.get('x-correlation-id')!;
      assert.notEqual(echoed, bad);
      assert.match(echoed, /^[A-Za-z0-9_-]{1,64}$/);
    }
  });
});
