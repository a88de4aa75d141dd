/**
 * Over TLS too, a request followed by a half-close (the client ends its side after the request) is
 * answered, then the connection is closed: the TLS layer must not end the write side at the
 * client's end of stream before the answer is written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import { startServerWithClient, type TestServer } from '../helpers/server.js';
import { parseResponses } from '../helpers/raw-http.js';
import { createPki, type Ca, type Pki } from './pki.js';

describe('half-close over TLS', () => {
  let pki: Pki;
  let ca: Ca;
  let server: TestServer;
  let auth: string;
  before(async () => {
    pki = createPki();
    ca = pki.ca('ca');
    const cert = pki.server(ca);
    ({ server, auth } = await startServerWithClient({ tlsCert: cert.certPath, tlsKey: cert.keyPath }));
  });
  after(async () => {
    await server?.close();
    pki?.cleanup();
  });

  it('a token request, then end of stream: the token arrives', async () => {
    const { port } = new URL(server.origin);
    const body = 'grant_type=client_credentials';
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(port), ca: ca.cert, servername: 'localhost' }, () => {
        socket.end(
          `POST /authz/d1/v1/oauth2/token HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${auth}\r\n` +
            `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
      });
      let got = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (got += d));
      socket.on('error', reject);
      socket.on('close', () => resolve(got));
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    const [res] = parseResponses(text);
    assert.equal(res?.status, 200, text.slice(0, 200));
    assert.ok(JSON.parse(res.body).access_token);
  });
});
