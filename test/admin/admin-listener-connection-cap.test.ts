/**
 * The admin listener has connection caps of its own (64, every one of them may come from one
 * address): connections that never send a request fill it, the next one is closed at once, the token
 * listener is not touched, and the silent ones are closed by the request-head time-out (5 s), after
 * which the admin listener answers again. Read from a running server.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ADMIN_MAX_CONNECTIONS = 64;

/** A TCP connection that sends nothing; resolves once connected. */
const silentConnection = (origin: string): Promise<Socket> => {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve(socket));
    socket.on('error', reject);
    socket.resume(); // read what the server sends (a 408, then its FIN)
  });
};

/** true when the server closes a new connection before answering a request on it. */
const closedAtOnce = (origin: string): Promise<boolean> => {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    let answered = false;
    const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(`GET /healthz HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`));
    socket.on('data', () => (answered = true));
    socket.on('error', () => {});
    socket.on('close', () => resolve(!answered));
  });
};

describe('admin listener connection cap', () => {
  let server: TestServer;
  const held: Socket[] = [];
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const s of held) s.destroy();
    await server?.close();
  });

  it(`holds ${ADMIN_MAX_CONNECTIONS} connections, closes the next at once, leaves the token listener alone, and recovers once the silent ones time out`, async () => {
    const admin = server.adminOrigin!;
    assert.equal((await fetch(`${admin}/healthz`, { headers: { connection: 'close' } })).status, 200);
    await waitFor('the probe connection to be gone', async () => !(await closedAtOnce(admin)), 5_000, 50);

    for (let i = 0; i < ADMIN_MAX_CONNECTIONS; i++) held.push(await silentConnection(admin));
    assert.equal(await closedAtOnce(admin), true, `connection ${ADMIN_MAX_CONNECTIONS + 1} is closed without an answer`);

    const d1 = await server.createClient('d1');
    assert.equal((await server.token(d1.clientId, d1.clientSecret)).status, 200, 'the token listener is not affected');

    // The silent connections are closed by the 5 s request-head time-out, not held for ever.
    const started = Date.now();
    await waitFor('the admin listener to answer again', async () => !(await closedAtOnce(admin)), 15_000, 250);
    const recoveredMs = Date.now() - started;
    assert.ok(recoveredMs < 12_000, `recovered after ${recoveredMs} ms`);
    await waitFor('every silent connection closed by the server', () => held.every((s) => s.readableEnded || s.destroyed), 5_000, 50);
  });
});
