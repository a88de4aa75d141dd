/**
 * A token costs one log line, not two: the request's line is also its `token.issued` audit event,
 * with the fields of its audit row (client, actor, address, correlation id, scopes, jti, exp). The
 * row itself is still written (batched, or before the answer with D1AUTHZ_AUDIT_SYNC=true).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { startTestServer, type TestServer } from '../helpers/server.js';

for (const auditSync of [false, true]) {
  describe(`one log line per token${auditSync ? ' (D1AUTHZ_AUDIT_SYNC=true)' : ''}`, () => {
    let server: TestServer;
    after(() => server?.close());

    it('the request line carries the token.issued event, and no other line does', async () => {
      server = await startTestServer({ scryptCost: 14, auditSync });
      const c = await server.createClient('one-line', { scopes: ['consumer', 'otp'] });
      const res = await server.token(c.clientId, c.clientSecret, { grant_type: 'client_credentials', scope: 'consumer otp' }, { 'x-correlation-id': 'one-line-0001' });
      assert.equal(res.status, 200);
      const jti = decodeJwt(res.json.access_token).jti;
      const lines = server.logs.map((l) => JSON.parse(l)).filter((l) => l.correlation_id === 'one-line-0001');
      assert.equal(lines.length, 1, `one line for the token: ${JSON.stringify(lines)}`);
      const [line] = lines;
      assert.equal(line.msg, 'request');
      assert.equal(line.status, 200);
      assert.equal(line.audit, 'token.issued');
      assert.equal(line.actor, 'one-line');
      assert.equal(line.client_id, 'one-line');
      assert.equal(line.address, '127.0.0.1');
      assert.deepEqual(line.details.scopes, ['consumer', 'otp']);
      assert.equal(line.details.jti, jti);
      assert.match(line.details.exp, /^\d{4}-\d\d-\d\dT/);
      await server.app.audit!.flush();
      const rows = await server.app.store.db.selectFrom('audit_events').selectAll().where('type', '=', 'token.issued').where('correlation_id', '=', 'one-line-0001').execute();
      assert.equal(rows.length, 1, 'and its row');
      assert.equal(JSON.parse(rows[0]!.details).jti, jti);
    });
  });
}
