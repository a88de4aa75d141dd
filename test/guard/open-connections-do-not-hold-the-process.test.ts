/**
 * The guard keeps its connections to d1-authz open between requests (keep-alive). A process that
 * is otherwise done must still exit: a child process fetches the JWKS and the revocation feed from
 * this process's server, which holds idle connections open for a minute, and must exit on its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeKey } from './helpers.js';

const guardIndex = fileURLToPath(new URL('../../packages/guard/src/index.ts', import.meta.url));
let origin: string;
let requests = 0;
const server = createServer((req, res) => {
  requests++;
  res.setHeader('content-type', 'application/json');
  if (req.url?.startsWith('/revocations')) res.end(JSON.stringify({ revocations: [], next_cursor: '1', has_more: false }));
  else res.end(JSON.stringify({ keys: [keyJwk] }));
});
let keyJwk: unknown;

before(async () => {
  keyJwk = (await makeKey('k1')).publicJwk;
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a process whose guard and feed fetched over kept-alive connections exits by itself', async () => {
  const script = `
    const { createGuard, createRevocationFeed } = await import(${JSON.stringify(guardIndex)});
    const guard = createGuard({ issuer: ${JSON.stringify(origin)}, audience: 'api' });
    await guard.refreshKeys();
    const feed = createRevocationFeed({ url: ${JSON.stringify(origin + '/revocations')}, clientId: 'rs', clientSecret: 's' });
    await feed.poll();
    console.log('fetched', guard.stats().jwksKeys);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | string>((resolve) => {
    // Far below the server's 60 s keep-alive, far above a loaded machine's start-up of tsx.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running after 30 s');
    }, 30_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c ?? 'signal');
    });
  });
  assert.equal(code, 0, out);
  assert.match(out, /fetched 1/);
  assert.equal(requests, 2);
  assert.ok(server.listening);
});
