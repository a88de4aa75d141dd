// Tiny upstream API for the gateway scenario: node:http answering every request with a small,
// constant JSON body. No auth: the gateway in front of it (or nothing, for the direct runs) is
// what is measured.
//
// Env: PORT (required).

import { createServer } from 'node:http';

import { HEALTH_PATH, portFromEnv } from '../lib/shared.js';

const port = portFromEnv();
const BODY = Buffer.from(JSON.stringify({ ok: true, issuer: 'is_tbank01', consumer: 'c-0001', status: 'ACTIVE' }));

const server = createServer((req, res) => {
  // Drain any request body before answering (keep-alive).
  req.resume();
  req.on('end', () => {
    if (req.url === HEALTH_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(BODY.length) });
    res.end(BODY);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`READY ${port}\n`));

const stop = (): void => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
