// The servers of the TLS scenarios: d1-authz `serve` with D1AUTHZ_TLS_CERT / _KEY / _CLIENT_CA
// (a client certificate is required by the handshake), and the node:https floor
// (baselines/floor-node-https.ts) with the same certificates. Both are checked before load: one
// token over mutual TLS, verified against the server's JWKS (fetched over mutual TLS too), and a
// wrong secret refused.

import { randomBytes, X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import type { JSONWebKeySet } from 'jose';

import { checkerFor } from '../lib/check.js';
import type { TokenChecker } from '../lib/check.js';
import { compileBaselines } from '../lib/compile.js';
import { D1_CLIENT_ID, d1Cli, nodeBin, prepareD1 } from '../lib/d1.js';
import type { BenchPki } from '../lib/pki.js';
import { basicAuth, freePort, ServerProcess } from '../lib/server.js';
import { KEEP } from '../lib/settings.js';
import { BENCH_REQUEST_SCOPE, BENCH_SCOPES, HEALTH_PATH, JWKS_PATH, TOKEN_PATH } from '../lib/shared.js';
import type { Credentials } from '../lib/types.js';
import { requestOnce, waitReadyTls } from '../lib/tls-load.js';
import type { TlsPeer } from '../lib/tls-load.js';

export const FORM_BODY = `grant_type=client_credentials&scope=${encodeURIComponent(BENCH_REQUEST_SCOPE)}`;

export interface TlsTarget {
  name: string;
  server: ServerProcess;
  peer: TlsPeer;
  credentials: Credentials;
  /** A second client registered for certificate-bound tokens (d1-authz with `bound`). */
  boundCredentials: Credentials | undefined;
  /** x5t#S256 of the client certificate. */
  thumbprint: string;
  jwks: JSONWebKeySet;
  notes: string[];
  checks: string[];
  /** Full check of a token body; `bound`: must carry cnf.x5t#S256 of the client certificate, else none. */
  checker(bound: boolean): TokenChecker;
  stop(): Promise<void>;
}

export const tokenHeaders = (c: Credentials): Record<string, string> => ({
  authorization: basicAuth(c.clientId, c.clientSecret),
  'content-type': 'application/x-www-form-urlencoded',
});

const thumbprintOf = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');

async function ready(t: Omit<TlsTarget, 'jwks' | 'checker' | 'checks'>, expectBound: boolean): Promise<TlsTarget> {
  await waitReadyTls(t.peer, HEALTH_PATH, () => t.server.exitInfo);
  const jwksAnswer = await requestOnce(t.peer, 'GET', JWKS_PATH, {}, '');
  if (jwksAnswer.status !== 200) throw new Error(`JWKS over mTLS answered ${jwksAnswer.status}`);
  const jwks = JSON.parse(jwksAnswer.body) as JSONWebKeySet;
  const checker = (bound: boolean): TokenChecker => checkerFor(jwks, 'd1', bound ? t.thumbprint : null);
  const checks: string[] = [];
  const first = await requestOnce(t.peer, 'POST', TOKEN_PATH, tokenHeaders(t.credentials), FORM_BODY);
  if (first.status !== 200) throw new Error(`pre-flight token over mTLS answered ${first.status}: ${first.body.slice(0, 200)}`);
  const problem = await checker(false).check(first.body);
  if (problem !== null) throw new Error(`pre-flight token invalid: ${problem}`);
  checks.push('pre-flight over mTLS: 200, ES256 JWT verified against the JWKS (fetched over mTLS), unbound');
  if (t.boundCredentials && expectBound) {
    const b = await requestOnce(t.peer, 'POST', TOKEN_PATH, tokenHeaders(t.boundCredentials), FORM_BODY);
    const p = b.status === 200 ? await checker(true).check(b.body) : `status ${b.status}: ${b.body.slice(0, 200)}`;
    if (p !== null) throw new Error(`pre-flight bound token invalid: ${p}`);
    checks.push('bound client: cnf.x5t#S256 = the client certificate\'s thumbprint');
  }
  const bad = await requestOnce(t.peer, 'POST', TOKEN_PATH, tokenHeaders({ ...t.credentials, clientSecret: `${t.credentials.clientSecret}x` }), FORM_BODY);
  if (bad.status !== 401) throw new Error(`wrong secret over mTLS answered ${bad.status} (want 401)`);
  checks.push('wrong secret refused (401)');
  const noCert = await requestOnce({ ...t.peer, client: undefined }, 'GET', HEALTH_PATH, {}, '').then(
    (a) => `answered ${a.status}`,
    () => null,
  );
  if (noCert !== null) throw new Error(`a connection without a client certificate ${noCert} (want the handshake to fail)`);
  checks.push('no client certificate: handshake refused');
  return { ...t, jwks, checker, checks };
}

/** d1-authz `serve --workers N` over mutual TLS; with `bound`, a second client registered with --bound-tokens. */
export async function startD1Tls(name: string, pki: BenchPki, opts: { workers: number; bound?: boolean }): Promise<TlsTarget> {
  const workDir = mkdtempSync(join(os.tmpdir(), `d1-bench-${name}-`));
  let server: ServerProcess | undefined;
  try {
    const port = await freePort();
    const secret = randomBytes(32).toString('base64url');
    const spec = await prepareD1({ port, workDir, secret, clientId: D1_CLIENT_ID }, { workers: opts.workers });
    let boundCredentials: Credentials | undefined;
    if (opts.bound) {
      boundCredentials = { clientId: `${D1_CLIENT_ID}-bound`, clientSecret: secret };
      await d1Cli(spec.env, [
        'client', 'create', boundCredentials.clientId, '--secret', secret, '--force', '--scopes', BENCH_SCOPES.join(' '),
        '--default-scopes', BENCH_SCOPES[0], '--bound-tokens', '--json',
      ]);
    }
    spec.env['D1AUTHZ_TLS_CERT'] = pki.server.certPath;
    spec.env['D1AUTHZ_TLS_KEY'] = pki.server.keyPath;
    spec.env['D1AUTHZ_TLS_CLIENT_CA'] = pki.ca.certPath;
    server = new ServerProcess(name, spec);
    const running = server;
    return await ready(
      {
        name,
        server,
        peer: { port, ca: pki.ca.cert, client: pki.client },
        credentials: spec.credentials,
        boundCredentials,
        thumbprint: thumbprintOf(pki.client.cert),
        notes: [...spec.notes, `mTLS, ${pki.kind} certificates`],
        stop: async () => {
          await running.stop();
          if (!KEEP) rmSync(workDir, { recursive: true, force: true });
        },
      },
      opts.bound === true,
    );
  } catch (err) {
    if (server) await server.stop();
    if (!KEEP) rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}

/** The node:https floor with the same certificates. */
export async function startFloorTls(name: string, pki: BenchPki, opts: { workers: number }): Promise<TlsTarget> {
  const port = await freePort();
  const credentials = { clientId: D1_CLIENT_ID, clientSecret: randomBytes(32).toString('base64url') };
  const args =
    process.env['BENCH_TSX'] === '1'
      ? ['--import', 'tsx', join('bench', 'baselines', 'floor-node-https.ts')]
      : [join(compileBaselines(), 'baselines', 'floor-node-https.js')];
  const server = new ServerProcess(name, {
    command: nodeBin,
    args,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      WORKERS: String(opts.workers),
      BENCH_CLIENT_ID: credentials.clientId,
      BENCH_CLIENT_SECRET: credentials.clientSecret,
      TLS_CERT: pki.server.certPath,
      TLS_KEY: pki.server.keyPath,
      TLS_CLIENT_CA: pki.ca.certPath,
    },
  });
  try {
    return await ready(
      {
        name,
        server,
        peer: { port, ca: pki.ca.cert, client: pki.client },
        credentials,
        boundCredentials: undefined,
        thumbprint: thumbprintOf(pki.client.cert),
        notes: [`node:https floor, ${opts.workers} process(es), ${pki.kind} certificates, Node's TLS defaults`],
        stop: () => server.stop(),
      },
      false,
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
}
