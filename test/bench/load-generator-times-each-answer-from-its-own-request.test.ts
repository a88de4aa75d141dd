/**
 * The benchmark's load generator (bench/lib/load.ts, autocannon underneath) times each answer from its
 * own request, also after the server closes keep-alive connections, as d1-authz does after 1,000
 * requests on one. With pipelining 1 a connection has one request in flight at a time, so the
 * latencies it records can add up to at most the run's length: all of them together, at most the
 * connection count times the run's length. Before, every close left a stale request in autocannon's
 * queue and later answers were timed from it, and the sum grew past that bound.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runAutocannon } from '../../bench/lib/load.js';

const CONNECTIONS = 4;
const REQUESTS_PER_CONNECTION = 20;

describe('load generator: answers timed from their own request', () => {
  let server: Server;
  let url: string;
  before(async () => {
    const served = new WeakMap<object, number>();
    server = createServer((req, res) => {
      // As d1-authz does (RFC 9112 §9.6): the last answer on a connection says close, and the server closes it.
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n >= REQUESTS_PER_CONNECTION) res.shouldKeepAlive = false;
      // An answer that takes a moment, so that a stale start time shows as a whole request time.
      setTimeout(() => res.end('{}'), 2);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('the recorded latencies of a closed loop fit in connections x run length, with connections closed every 20 requests', async () => {
    const started = process.hrtime.bigint();
    const { result, latencies } = await runAutocannon({ url, connections: CONNECTIONS, duration: 2 });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const sumMs = latencies.reduce((a, b) => a + b, 0);
    assert.ok(latencies.length > 10 * REQUESTS_PER_CONNECTION * CONNECTIONS, `enough answers to close each connection many times (${latencies.length})`);
    assert.equal(result.non2xx, 0);
    assert.ok(sumMs <= CONNECTIONS * wallMs, `latencies add up to ${sumMs.toFixed(0)} ms, more than ${CONNECTIONS} connections x ${wallMs.toFixed(0)} ms allow`);
  });
});
