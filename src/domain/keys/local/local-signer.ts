/**
 * Signs with a node:crypto KeyObject on libuv's thread pool (crypto.sign with a callback), not on the
 * event loop: the loop keeps parsing and answering requests while another core signs. Measured with
 * `npm run bench` (docs/performance.md): one process went from 0.58x to 1.28x the tokens/s of the
 * node:http floor server, which signs on its event loop. Secret hashes share that pool, so their
 * concurrency is capped below its size (D1AUTHZ_HASH_CONCURRENCY).
 */
import { constants, sign, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '../../../model/signing.js';
import type { Signer } from '../signer.js';

/** crypto.sign's callback form: runs on libuv's thread pool. */
type SignOnPool = (input: Buffer, done: (err: Error | null, signature: Buffer) => void) => void;

export class LocalSigner implements Signer {
  private readonly signFn: SignOnPool;

  constructor(
    readonly kid: string,
    readonly alg: SigningAlgorithm,
    readonly publicJwk: Readonly<Record<string, unknown>>,
    privateKey: KeyObject,
  ) {
    this.signFn = signOnPool(alg, privateKey);
  }

  sign(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => this.signFn(input, (err, sig) => (err ? reject(err) : resolve(sig))));
  }
}

function signOnPool(alg: SigningAlgorithm, key: KeyObject): SignOnPool {
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
