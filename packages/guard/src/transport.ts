/**
 * The one way the guard talks to d1-authz (JWKS, introspection, revocation feed): node:http and
 * node:https with an agent of its own, so an operator can give the trust anchors of a private CA
 * and a client certificate for a d1-authz that requires mutual TLS. (The global fetch takes
 * neither without the undici package, and the guard has no dependencies.)
 *
 * Redirects are not followed (a 3xx is just a status that is not 200), bodies are read up to a
 * bound, and the whole exchange, body included, ends with `signal`.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';

type Pem = string | Buffer;

/** TLS settings for the guard's own requests to d1-authz. */
export interface GuardTlsOptions {
  /**
   * PEM trust anchor(s) for d1-authz's server certificate, e.g. the bank's private CA. Given, they
   * replace Node's default list of public CAs for these requests (Node's meaning of `ca`).
   */
  ca?: Pem | readonly Pem[];
  /** PEM client certificate (and chain) presented to a d1-authz that requires mutual TLS. With `key`. */
  cert?: Pem;
  /** PEM private key of `cert`. */
  key?: Pem;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
}

export interface TransportRequest {
  method: 'GET' | 'POST';
  headers: OutgoingHttpHeaders;
  body?: string;
  signal: AbortSignal;
  /** The body of a 200 answer is read up to this many bytes. */
  maxBytes: number;
}

export interface TransportAnswer {
  status: number;
  /** The body of a 200 answer; '' for any other status (not read); null when it exceeds maxBytes. */
  text: string | null;
}

export interface Transport {
  request(url: URL, call: TransportRequest): Promise<TransportAnswer>;
}

function checkPem(name: string, value: unknown): void {
  const ok = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  if (value !== undefined && !(ok(value) || (name === 'tls.ca' && Array.isArray(value) && value.length > 0 && value.every(ok)))) {
    throw new TypeError(`${name} must be PEM text or a Buffer`);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Node skips what is not a certificate in `ca` without a word, which would leave no trust anchor at all. */
function checkCertificates(name: string, value: Pem | readonly Pem[]): void {
  for (const pem of (Array.isArray(value) ? value : [value]) as readonly Pem[]) {
    const blocks = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw new TypeError(`${name} holds no PEM certificate`);
    for (const block of blocks) {
      try {
        new X509Certificate(block);
      } catch (cause) {
        throw new TypeError(`${name} holds a certificate that does not parse: ${(cause as Error).message}`, { cause });
      }
    }
  }
}

/**
 * Checks `tls` at construction (fail closed: a typo must not turn into an unverified or
 * unauthenticated connection later) and builds the transport for `url`.
 */
export function createTransport(name: string, url: URL, tls: GuardTlsOptions | undefined): Transport {
  if (tls !== undefined) {
    if (tls === null || typeof tls !== 'object') throw new TypeError('tls must be an object');
    for (const key of Object.keys(tls)) {
      if (!['ca', 'cert', 'key', 'passphrase'].includes(key)) throw new TypeError(`tls.${key} is not a known TLS option (ca, cert, key, passphrase)`);
    }
    checkPem('tls.ca', tls.ca);
    checkPem('tls.cert', tls.cert);
    checkPem('tls.key', tls.key);
    if ((tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError('tls.cert and tls.key go together');
    if (url.protocol !== 'https:') throw new TypeError(`tls is set but ${name} is not an https URL`);
    if (tls.ca !== undefined) checkCertificates('tls.ca', tls.ca);
    if (tls.cert !== undefined) checkCertificates('tls.cert', tls.cert);
    try {
      // Parses the PEM and checks that the key belongs to the certificate, now rather than at the first request.
      createSecureContext({ ca: tls.ca as Pem[] | Pem | undefined, cert: tls.cert, key: tls.key, passphrase: tls.passphrase });
    } catch (cause) {
      throw new TypeError(`tls: ${(cause as Error).message}`, { cause });
    }
  }
  const https = url.protocol === 'https:';
  const agent = https
    ? new HttpsAgent({ keepAlive: true, ...(tls ? { ca: tls.ca as Pem[] | Pem | undefined, cert: tls.cert, key: tls.key, passphrase: tls.passphrase } : {}) })
    : new HttpAgent({ keepAlive: true });
  const send = https ? httpsRequest : httpRequest;

  return {
    request: (target, call) =>
      new Promise<TransportAnswer>((resolve, reject) => {
        const { signal } = call;
        if (signal.aborted) {
          const reason: unknown = signal.reason;
          reject(reason instanceof Error ? reason : new Error('aborted'));
          return;
        }
        let res: IncomingMessage | undefined;
        const req = send(target, { method: call.method, headers: call.headers, agent });
        const onAbort = () => {
          const reason: unknown = signal.reason;
          req.destroy(reason instanceof Error ? reason : new Error('aborted'));
          res?.destroy();
          reject(reason instanceof Error ? reason : new Error('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = (fn: () => void) => {
          signal.removeEventListener('abort', onAbort);
          fn();
        };
        req.on('error', (err) => settle(() => reject(err)));
        req.on('response', (answer) => {
          res = answer;
          const status = answer.statusCode ?? 0;
          if (status !== 200) {
            // Not read: a broken or hostile server cannot make us wait for or buffer its error page.
            answer.destroy();
            settle(() => resolve({ status, text: '' }));
            return;
          }
          const declared = Number(answer.headers['content-length'] ?? '0');
          if (declared > call.maxBytes) {
            answer.destroy();
            settle(() => resolve({ status, text: null }));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          answer.on('data', (chunk: Buffer) => {
            size += chunk.byteLength;
            if (size > call.maxBytes) {
              answer.destroy();
              settle(() => resolve({ status, text: null }));
              return;
            }
            chunks.push(chunk);
          });
          answer.on('error', (err) => settle(() => reject(err)));
          answer.on('end', () => settle(() => resolve({ status, text: Buffer.concat(chunks).toString('utf8') })));
          // After 'end' this changes nothing; before it, the connection was cut mid-body.
          answer.on('close', () => settle(() => reject(new Error('connection closed before the end of the response'))));
        });
        req.end(call.body);
      }),
  };
}
