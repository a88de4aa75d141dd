/**
 * Test PKI made with the openssl command at test time, in a temp folder: CAs, server and client
 * certificates (EC P-256, valid two days), and an https request helper presenting them.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { certificateThumbprint } from '@d1-authz/guard';
import { jsonOrUnparsable } from '../helpers/json-body.js';

export interface Issued {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
  readonly x509: X509Certificate;
  /** x5t#S256 */
  readonly thumbprint: string;
}

export type Ca = Issued;

export interface LeafOptions {
  /** openssl -subj form, e.g. /C=FR/O=Thales/CN=d1-client */
  readonly subject?: string;
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  readonly uris?: readonly string[];
  readonly emails?: readonly string[];
  readonly usage?: 'serverAuth' | 'clientAuth';
}

export interface Pki {
  readonly dir: string;
  ca(name: string): Ca;
  issue(ca: Ca, name: string, options?: LeafOptions): Issued;
  /** A server certificate for 127.0.0.1 / localhost. */
  server(ca: Ca, name?: string): Issued;
  cleanup(): void;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function load(name: string, certPath: string, keyPath: string): Issued {
  const cert = readFileSync(certPath, 'utf8');
  const x509 = new X509Certificate(cert);
  return { name, certPath, keyPath, cert, key: readFileSync(keyPath, 'utf8'), x509, thumbprint: certificateThumbprint(x509) };
}

export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'd1authz-pki-'));
  const path = (f: string) => join(dir, f);
  return {
    dir,
    ca(name) {
      openssl([
        'req', '-x509', ...EC, '-keyout', path(`${name}.key`), '-out', path(`${name}.crt`), '-days', '2', '-subj', `/O=Test/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ]);
      return load(name, path(`${name}.crt`), path(`${name}.key`));
    },
    issue(ca, name, o = {}) {
      const san = [
        ...(o.dns ?? []).map((d) => `DNS:${d}`),
        ...(o.ips ?? []).map((d) => `IP:${d}`),
        ...(o.uris ?? []).map((d) => `URI:${d}`),
        ...(o.emails ?? []).map((d) => `email:${d}`),
      ];
      const ext = [`basicConstraints=CA:FALSE`, `extendedKeyUsage=${o.usage ?? 'clientAuth'}`, ...(san.length ? [`subjectAltName=${san.join(',')}`] : [])];
      writeFileSync(path(`${name}.ext`), ext.join('\n') + '\n');
      openssl(['req', '-new', ...EC, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', o.subject ?? `/O=Test/CN=${name}`]);
      openssl([
        'x509', '-req', '-in', path(`${name}.csr`), '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
        '-days', '2', '-out', path(`${name}.crt`), '-extfile', path(`${name}.ext`),
      ]);
      return load(name, path(`${name}.crt`), path(`${name}.key`));
    },
    server(ca, name = 'server') {
      return this.issue(ca, name, { dns: ['localhost'], ips: ['127.0.0.1'], usage: 'serverAuth' });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: any;
}

export interface HttpsCall {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The server's CA. */
  readonly ca: string;
  /** The client certificate to present. */
  readonly client?: Pick<Issued, 'cert' | 'key'>;
}

export function httpsRequest(url: string, call: HttpsCall): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const options: RequestOptions = {
      method: call.method ?? 'GET',
      headers: call.headers,
      ca: call.ca,
      ...(call.client ? { cert: call.client.cert, key: call.client.key } : {}),
      agent: false,
    };
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = jsonOrUnparsable(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(call.body);
  });
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

/** The certificate a fresh TLS handshake gets from host:port. */
export function servedCertificate(port: number, ca: string, client?: Pick<Issued, 'cert' | 'key'>): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(client ? { cert: client.cert, key: client.key } : {}) }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert) resolve(cert);
      else reject(new Error('no server certificate'));
    });
    socket.on('error', reject);
  });
}

/** Decodes a JWT's payload (no verification). */
export const jwtPayload = (jwt: string): any => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
