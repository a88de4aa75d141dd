/**
 * {base}/openapi.json describes what the server answers: real answers of every public endpoint are
 * validated against the document the server itself serves, and its token endpoint says what the
 * D1 contract says.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { openApiChecker, type OpenApiChecker } from '../helpers/openapi.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/server.js';

const contract = JSON.parse(readFileSync(new URL('../../contract/d1-oauth2-api.openapi.json', import.meta.url), 'utf8'));
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('public OpenAPI document', () => {
  let server: TestServer;
  let doc: any;
  let check: OpenApiChecker;
  let d1: { clientId: string; clientSecret: string };
  let rs: { clientId: string; clientSecret: string };
  const base = () => `${server.origin}/authz/d1/v1`;
  const answer = async (res: Response) => {
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
  };

  before(async () => {
    server = await startTestServer();
    d1 = await server.createClient('d1', { scopes: ['consumer'], defaultScopes: ['consumer'] });
    rs = await server.createClient('rs', { tokens: false, introspect: true });
    const res = await fetch(`${base()}/openapi.json`);
    assert.equal(res.status, 200);
    doc = await res.json();
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.servers[0].url, server.issuer);
    check = openApiChecker(doc, 'public');
  });
  after(() => server.close());

  it("keeps the contract's token request and 200 answer", () => {
    const mine = doc.components.schemas.TokenResponse;
    const theirs = contract.paths['/oauth2/token'].post.responses['200'].content['application/json'].schema;
    assert.deepEqual(mine.required, theirs.required);
    assert.deepEqual(Object.keys(mine.properties).sort(), Object.keys(theirs.properties).sort());
    for (const name of ['access_token', 'scope', 'token_type', 'expires_at']) assert.deepEqual(mine.properties[name], theirs.properties[name], name);
    assert.ok(mine.properties.expires_in.type.includes(theirs.properties.expires_in.type), 'the contract string form is one of the documented forms');
    assert.deepEqual(doc.components.schemas.auth2Request, contract.components.schemas.auth2Request);
  });

  it('documents the real answers of the token endpoint, success and errors', async () => {
    const post = (headers: Record<string, string>, body: string, method = 'POST') => fetch(`${base()}/oauth2/token`, { method, headers, body });
    const cases: [number, Response][] = [
      [200, await post({ ...FORM, authorization: basicAuth(d1.clientId, d1.clientSecret) }, 'grant_type=client_credentials')],
      [400, await post({ ...FORM, authorization: basicAuth(d1.clientId, d1.clientSecret) }, 'grant_type=password')],
      [400, await post({ ...FORM, authorization: basicAuth(d1.clientId, d1.clientSecret) }, 'grant_type=client_credentials&scope=nope')],
      [401, await post({ ...FORM, authorization: basicAuth(d1.clientId, 'wrong-wrong-wrong-wrong-wrong-wrong') }, 'grant_type=client_credentials')],
      [413, await post({ ...FORM, authorization: basicAuth(d1.clientId, d1.clientSecret) }, 'grant_type=client_credentials&x=' + 'a'.repeat(10_000))],
    ];
    for (const [status, res] of cases) {
      assert.equal(res.status, status);
      check.check('/oauth2/token', 'post', status, await answer(res));
    }
  });

  it('documents introspection, revocation, the feed, the JWKS and the metadata', async () => {
    const token = (await server.token(d1.clientId, d1.clientSecret)).json.access_token;
    const rsAuth = { ...FORM, authorization: basicAuth(rs.clientId, rs.clientSecret) };
    const active = await fetch(`${base()}/oauth2/introspect`, { method: 'POST', headers: rsAuth, body: `token=${token}` });
    assert.equal(active.status, 200);
    const activeBody = await answer(active);
    assert.equal(activeBody.active, true);
    check.check('/oauth2/introspect', 'post', 200, activeBody);
    const revoked = await fetch(`${base()}/oauth2/revoke`, { method: 'POST', headers: { ...FORM, authorization: basicAuth(d1.clientId, d1.clientSecret) }, body: `token=${token}` });
    assert.equal(revoked.status, 200);
    check.check('/oauth2/revoke', 'post', 200, await answer(revoked));
    const inactive = await fetch(`${base()}/oauth2/introspect`, { method: 'POST', headers: rsAuth, body: `token=${token}` });
    const inactiveBody = await answer(inactive);
    assert.deepEqual(inactiveBody, { active: false });
    check.check('/oauth2/introspect', 'post', 200, inactiveBody);
    const unauthenticated = await fetch(`${base()}/oauth2/introspect`, { method: 'POST', headers: FORM, body: `token=${token}` });
    check.check('/oauth2/introspect', 'post', unauthenticated.status, await answer(unauthenticated));
    const feed = await fetch(`${base()}/oauth2/revocations`, { headers: { authorization: basicAuth(rs.clientId, rs.clientSecret) } });
    assert.equal(feed.status, 200);
    const feedBody = await answer(feed);
    assert.ok(feedBody.revocations.some((r: any) => r.type === 'token'));
    check.check('/oauth2/revocations', 'get', 200, feedBody);
    const badCursor = await fetch(`${base()}/oauth2/revocations?since=x`, { headers: { authorization: basicAuth(rs.clientId, rs.clientSecret) } });
    check.check('/oauth2/revocations', 'get', 400, await answer(badCursor));
    for (const path of ['/.well-known/jwks.json', '/.well-known/oauth-authorization-server', '/openapi.json']) {
      const res = await fetch(`${base()}${path}`);
      assert.equal(res.status, 200, path);
      check.check(path, 'get', 200, await answer(res));
    }
  });
});
