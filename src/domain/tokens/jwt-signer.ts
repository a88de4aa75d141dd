/**
 * Signs JWS compact tokens with node:crypto KeyObjects: measured several times faster than a
 * general-purpose JOSE library for this one fixed shape. The protected header never changes
 * for a key, so it is encoded once.
 *
 * The signature is computed on libuv's thread pool (crypto.sign with a callback), not on the event
 * loop: the loop keeps parsing and answering requests while another core signs. Measured with
 * `npm run bench` (docs/performance.md): one process went from 0.58x to 1.28x the tokens/s of the
 * node:http floor server, which signs on its event loop. Secret hashes share that pool, so their
 * concurrency is capped below its size (D1AUTHZ_HASH_CONCURRENCY).
 */
import { constants, sign, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '../../config/schema.js';

/** crypto.sign's callback form: runs on libuv's thread pool. */
type SignOnPool = (input: Buffer, done: (err: Error | null, signature: Buffer) => void) => void;

export class JwtSigner {
  private readonly encodedHeader: string;
  private readonly signFn: SignOnPool;

  constructor(
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    privateKey: KeyObject,
  ) {
    // RFC 9068 §2.1: typ "at+jwt".
    this.encodedHeader = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid })).toString('base64url') + '.';
    this.signFn = signer(alg, privateKey);
  }

  sign(payloadJson: string): Promise<string> {
    const signingInput = this.encodedHeader + Buffer.from(payloadJson).toString('base64url');
    return new Promise((resolve, reject) => {
      this.signFn(Buffer.from(signingInput), (err, sig) => (err ? reject(err) : resolve(signingInput + '.' + sig.toString('base64url'))));
    });
  }
}

function signer(alg: SigningAlgorithm, key: KeyObject): SignOnPool {
  switch (alg) {
    case 'ES256':
      // JWS wants the raw r||s form (RFC 7518 §3.4), not DER.
      return (input, done) => sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, done);
    case 'RS256':
      return (input, done) => sign('sha256', input, key, done);
    case 'PS256':
      return (input, done) => sign('sha256', input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, done);
    case 'EdDSA':
      return (input, done) => sign(null, input, key, done);
  }
}
