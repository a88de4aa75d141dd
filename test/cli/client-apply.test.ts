/**
 * Clients as code: `client apply -f` creates and updates clients to match the file, shows the diff
 * with --dry-run, deletes unlisted clients with --prune, changes nothing on a second run, and
 * `client export` writes a file that apply accepts as it is. The clients it makes get tokens from a
 * running server over real HTTP.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { cliEnv, runCli } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';

describe('client apply -f and client export', () => {
  let server: TestServer;
  let env: Record<string, string>;
  let dir: string;
  const cli = (...args: string[]) => runCli(args, env);
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const apply = async (path: string, ...flags: string[]) => {
    const r = await cli('client', 'apply', '-f', path, '--json', ...flags);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { dry_run: boolean; changes: { client_id: string; action: string; changes?: Record<string, { from: unknown; to: unknown }>; client_secret?: string }[] };
  };
  const actions = (report: Awaited<ReturnType<typeof apply>>) => Object.fromEntries(report.changes.map((c) => [c.client_id, c.action]));

  before(async () => {
    server = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'd1authz-apply-'));
    env = cliEnv(server.database.url, server.masterKey, { PARTNER_SECRET: 'partner-secret-from-the-environment-0123456789' });
    writeFileSync(join(dir, 'd1.secret'), '123\n');
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const V1 = `clients:
  - client_id: is_tbank01
    name: Thales D1
    scopes: [consumer, otp]
    default_scopes: [consumer]
    client_secret_file: d1.secret
  - client_id: partner
    scopes: [consumer]
    expires_in_format: number
    expires_at: off
    client_secret_env: PARTNER_SECRET
  - client_id: generated
    token_ttl: 600
`;

  it('--dry-run shows what would be created and writes nothing', async () => {
    const v1 = file('v1.yaml', V1);
    const plan = await apply(v1, '--dry-run');
    assert.equal(plan.dry_run, true);
    assert.deepEqual(actions(plan), { is_tbank01: 'created', partner: 'created', generated: 'created' });
    assert.deepEqual(plan.changes[0]!.changes!.scopes, { from: [], to: ['consumer', 'otp'] });
    assert.equal(plan.changes.some((c) => 'client_secret' in c), false, 'a dry run generates no secret');
    const human = await cli('client', 'apply', '-f', v1, '--dry-run');
    assert.match(human.stdout, /\+ would create is_tbank01\n/);
    assert.match(human.stdout, /dry run, nothing written: 3 created/);
    assert.equal((await cli('client', 'list', '--json')).stdout.trim(), '[]');
  });

  it('creates the clients: secrets from a file, from the environment, or generated and reported once', async () => {
    const short = await cli('client', 'apply', '-f', file('v1.yaml', V1));
    assert.equal(short.code, 1, 'the dictated secret "123" is short');
    assert.match(short.stderr, /shorter than 32 characters; use --force/);
    assert.equal((await cli('client', 'list', '--json')).stdout.trim(), '[]', 'it failed on the first client: nothing written');
    const report = await apply(file('v1.yaml', V1), '--force');
    assert.deepEqual(actions(report), { is_tbank01: 'created', partner: 'created', generated: 'created' });
    const secrets = Object.fromEntries(report.changes.map((c) => [c.client_id, c.client_secret]));
    assert.equal(secrets.is_tbank01, undefined, 'a secret read from a file is not printed');
    assert.equal(secrets.partner, undefined, 'a secret read from the environment is not printed');
    assert.match(secrets.generated!, /^[A-Za-z0-9_-]{43}$/);

    await waitFor('the new clients on the server', async () => (await server.token('generated', secrets.generated!)).status === 200, 5_000);
    const d1 = await server.token('is_tbank01', '123');
    assert.equal(d1.status, 200);
    assert.equal(d1.json.expires_in, '900');
    assert.equal(d1.json.scope, 'consumer');
    const partner = await server.token('partner', 'partner-secret-from-the-environment-0123456789');
    assert.equal(partner.json.expires_in, 900);
    assert.equal('expires_at' in partner.json, false);
    assert.equal((await server.token('generated', secrets.generated!)).json.expires_in, '600');
  });

  it('a second apply of the same file changes nothing', async () => {
    const again = await apply(file('v1.yaml', V1), '--force');
    assert.deepEqual(actions(again), { is_tbank01: 'unchanged', partner: 'unchanged', generated: 'unchanged' });
  });

  it('updates what differs (diff from -> to); an absent key goes back to its default; --prune deletes unlisted clients', async () => {
    const v2 = file('v2.yaml', `clients:
  - client_id: is_tbank01
    name: Thales D1
    scopes: [consumer, otp]
    default_scopes: [consumer]
    token_ttl: 300
  - client_id: partner
    scopes: [consumer]
    enabled: false
`);
    const plan = await apply(v2, '--dry-run', '--prune');
    assert.deepEqual(actions(plan), { is_tbank01: 'updated', partner: 'updated', generated: 'deleted' });
    assert.deepEqual(plan.changes[0]!.changes, { token_ttl: { from: null, to: 300 } });
    assert.deepEqual(plan.changes[1]!.changes, { enabled: { from: true, to: false }, expires_in_format: { from: 'number', to: null }, expires_at: { from: 'off', to: null } });

    const withoutPrune = await apply(v2);
    assert.deepEqual(actions(withoutPrune), { is_tbank01: 'updated', partner: 'updated' });
    assert.equal((await cli('client', 'show', 'generated')).code, 0, 'kept without --prune');
    const pruned = await apply(v2, '--prune');
    assert.deepEqual(actions(pruned), { is_tbank01: 'unchanged', partner: 'unchanged', generated: 'deleted' });
    assert.equal((await cli('client', 'show', 'generated')).code, 1);
    await waitFor('the update on the server', async () => (await server.token('is_tbank01', '123')).json.expires_in === '300', 5_000);
    await waitFor('partner disabled on the server', async () => (await server.token('partner', 'partner-secret-from-the-environment-0123456789')).status === 401, 5_000);
  });

  it('client export writes a file that apply takes back unchanged (round trip)', async () => {
    const exported = await cli('client', 'export');
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^clients:$/m);
    assert.doesNotMatch(exported.stdout, /client_secret:|\$scrypt/);
    const back = await apply(file('exported.yaml', exported.stdout));
    assert.deepEqual(actions(back), { is_tbank01: 'unchanged', partner: 'unchanged' });
  });

  it('the file is validated strictly: unknown keys and secrets are refused by name (exit 2), nothing changes', async () => {
    const unknown = await cli('client', 'apply', '-f', file('bad.yaml', 'clients:\n  - client_id: x\n    scope: [a]\n    ttl: 5\n'));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /clients\[0\]: unknown keys scope, ttl/);
    const secret = await cli('client', 'apply', '-f', file('secret.yaml', 'clients:\n  - client_id: x\n    client_secret: hunter2\n'));
    assert.equal(secret.code, 2);
    assert.match(secret.stderr, /unknown key client_secret \(secrets never go in the file/);
    const top = await cli('client', 'apply', '-f', file('top.yaml', 'client:\n  - client_id: x\n'));
    assert.equal(top.code, 2);
    assert.match(top.stderr, /unknown key client\b/);
    const dn = await cli('client', 'apply', '-f', file('dn.yaml', 'clients:\n  - client_id: x\n    tls_client_auth_subject_dn: "C=FR, O=Thales DIS, CN=d1-client"\n'));
    assert.equal(dn.code, 2);
    assert.match(dn.stderr, /RFC 4514 writes "CN=d1-client,O=Thales DIS,C=FR"/);
    const comma = await cli('client', 'apply', '-f', file('comma.yaml', 'clients:\n  - client_id: commas\n    scopes: ["consumer,otp"]\n'), '--dry-run');
    assert.equal(comma.code, 0);
    assert.match(comma.stderr, /warning: .*"consumer,otp" holds a comma/);
    assert.equal((await cli('client', 'show', 'x')).code, 1, 'nothing was created');
  });

  it('examples/clients.yaml applies, and its clients get tokens in the shape it sets', async () => {
    const example = fileURLToPath(new URL('../../examples/clients.yaml', import.meta.url));
    const exampleEnv = { ...env, D1_CLIENT_SECRET: 'example-d1-secret-dictated-at-onboarding-0123' };
    const r = await runCli(['client', 'apply', '-f', example, '--json'], exampleEnv);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.changes.find((c: { client_id: string }) => c.client_id === 'd1-mtls').action, 'created');
    const fraud = report.changes.find((c: { client_id: string }) => c.client_id === 'fraud-engine');
    const res = await waitFor('fraud-engine on the server', async () => {
      const t = await server.token('fraud-engine', fraud.client_secret);
      return t.status === 200 && t;
    }, 5_000);
    assert.equal(res.json.expires_in, 300);
    assert.equal('expires_at' in res.json, false);
    const again = await runCli(['client', 'apply', '-f', example, '--json'], exampleEnv);
    assert.ok(JSON.parse(again.stdout).changes.every((c: { action: string }) => c.action === 'unchanged'));
  });
});
