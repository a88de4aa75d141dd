// A throw-away PKI for the TLS scenarios, made with the openssl command in a temp folder: one CA,
// a server certificate for 127.0.0.1 / localhost, a client certificate (like D1's from the Thales
// CA). P-256 as D1 uses, or RSA 4096, which D1 also allows.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export type KeyKind = 'p256' | 'rsa4096';

export interface PemPair {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

export interface BenchPki {
  kind: KeyKind;
  dir: string;
  ca: PemPair;
  server: PemPair;
  client: PemPair;
  cleanup(): void;
}

const NEW_KEY: Record<KeyKind, string[]> = {
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
  rsa4096: ['-newkey', 'rsa:4096', '-nodes'],
};

const openssl = (args: string[]): void => {
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
};

export function createBenchPki(kind: KeyKind): BenchPki {
  const dir = mkdtempSync(join(os.tmpdir(), `d1-bench-pki-${kind}-`));
  const path = (f: string): string => join(dir, f);
  const pair = (name: string): PemPair => ({
    certPath: path(`${name}.crt`),
    keyPath: path(`${name}.key`),
    cert: readFileSync(path(`${name}.crt`), 'utf8'),
    key: readFileSync(path(`${name}.key`), 'utf8'),
  });
  const ext = (name: string, lines: string[]): string => {
    writeFileSync(path(`${name}.ext`), `${lines.join('\n')}\n`);
    return path(`${name}.ext`);
  };
  openssl([
    'req', '-x509', ...NEW_KEY[kind], '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2', '-subj', '/O=Bench/CN=bench-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const leaf = (name: string, subject: string, extLines: string[]): PemPair => {
    openssl(['req', '-new', ...NEW_KEY[kind], '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', subject]);
    openssl([
      'x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.crt'), '-CAkey', path('ca.key'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-out', path(`${name}.crt`), '-extfile', ext(name, extLines),
    ]);
    return pair(name);
  };
  const server = leaf('server', '/O=Bench/CN=localhost', ['basicConstraints=CA:FALSE', 'extendedKeyUsage=serverAuth', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  const client = leaf('client', '/C=FR/O=Thales/CN=d1-bench-client', ['basicConstraints=CA:FALSE', 'extendedKeyUsage=clientAuth']);
  return { kind, dir, ca: pair('ca'), server, client, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
