/**
 * examples/prometheus-alerts.yaml: the shape Prometheus' rule files have (promtool is not used: Debian
 * ships it only inside the whole prometheus server package, ~96 MB installed), and every d1authz_
 * metric and label value it uses is served by a running d1-authz.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../helpers/server.js';

const rules = parse(readFileSync(new URL('../../examples/prometheus-alerts.yaml', import.meta.url), 'utf8'));
const DURATION = /^\d+[smhdwy]$/;

describe('examples/prometheus-alerts.yaml', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ publicMetrics: true });
  });
  after(() => server?.close());

  it('is a rule file: groups of alerting rules, each with alert, expr, for, severity and summary', () => {
    assert.deepEqual(Object.keys(rules), ['groups']);
    const names = new Set<string>();
    for (const group of rules.groups) {
      assert.equal(typeof group.name, 'string');
      assert.ok(group.rules.length > 0);
      for (const rule of group.rules) {
        for (const key of Object.keys(rule)) assert.ok(['alert', 'expr', 'for', 'labels', 'annotations'].includes(key), `${rule.alert}: unknown key ${key}`);
        assert.match(rule.alert, /^[A-Za-z][A-Za-z0-9]*$/);
        assert.ok(!names.has(rule.alert), `${rule.alert} twice`);
        names.add(rule.alert);
        assert.equal(typeof rule.expr, 'string');
        assert.match(rule.for, DURATION);
        assert.ok(['info', 'warning', 'critical'].includes(rule.labels.severity), `${rule.alert}: severity`);
        assert.equal(typeof rule.annotations.summary, 'string');
        // Balanced brackets: a cheap guard against a truncated expression.
        for (const [open, close] of ['()', '{}', '[]']) assert.equal(rule.expr.split(open).length, rule.expr.split(close).length, `${rule.alert}: ${open}${close}`);
      }
    }
    for (const wanted of ['D1AuthzInvalidClientBurst', 'D1AuthzStoreOutage', 'D1AuthzKeyRotationDue', 'D1AuthzSecretChecksSaturated', 'D1AuthzLockoutEngaged']) assert.ok(names.has(wanted), wanted);
  });

  it('uses only metrics, routes and outcomes that d1-authz serves', async () => {
    const c = await server.createClient('alerts');
    assert.equal((await server.token(c.clientId, c.clientSecret)).status, 200);
    assert.equal((await server.token(c.clientId, 'wrong')).status, 401);
    await fetch(`${server.origin}/readyz`);
    const metrics = await (await fetch(`${server.origin}/metrics`)).text();
    const exprs = rules.groups.flatMap((g: { rules: { expr: string }[] }) => g.rules.map((r) => r.expr)).join('\n');
    const used = new Set<string>(exprs.match(/d1authz_[a-z_]+/g) ?? []);
    assert.ok(used.size >= 4);
    for (const name of used) assert.match(metrics, new RegExp(`^${name}[{ ]`, 'm'), `${name} is served`);
    assert.match(metrics, /d1authz_token_requests_total\{outcome="invalid_client"\} 1/);
    assert.match(metrics, /d1authz_http_request_duration_seconds_count\{route="\/readyz",status="200"\} 1/);
    const since = Number(/^d1authz_signing_key_active_since_seconds (\S+)$/m.exec(metrics)![1]);
    assert.ok(since > 0 && since <= Date.now() / 1000, 'the signing key began to sign in the past');
    for (const outcome of exprs.match(/outcome="([a-z_]+)"/g) ?? []) assert.match(outcome, /"(invalid_client|temporarily_unavailable|issued|invalid_request|invalid_scope)"/);
  });
});
