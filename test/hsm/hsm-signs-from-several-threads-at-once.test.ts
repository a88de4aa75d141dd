/**
 * Signing runs on libuv's pool, several signatures at once on different threads. PKCS#11 v2.40 §5.4:
 * a library initialised without arguments may assume the application "will not be accessing
 * Cryptoki from multiple threads simultaneously". C_Initialize was called so, and under load SoftHSM2
 * crashed the server (SIGSEGV in the bench's d1-authz-hsm row). Now the module is initialised with
 * CKF_OS_LOCKING_OK: thousands of concurrent signatures, all valid. A crash here kills this file's
 * process, which the runner reports as a failure.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Pkcs11KeyProvider } from '../../src/domain/keys/pkcs11/pkcs11-provider.js';
import type { Signer } from '../../src/domain/keys/signer.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';

const SIGNATURES = 6400;
const AT_ONCE = 64;

describe('pkcs11 signing from several threads at once', () => {
  let hsm: SoftHsmToken;
  let provider: Pkcs11KeyProvider;
  let signer: Signer;

  before(async () => {
    hsm = createSoftHsmToken('d1-authz-threads');
    process.env.SOFTHSM2_CONF = hsm.conf;
    // As serve opens it: a session per pool thread and one more.
    provider = Pkcs11KeyProvider.open({ module: hsm.module, tokenLabel: hsm.label, pin: hsm.pin }, 4, { down: () => {}, up: () => {} });
    const key = await provider.generate('ES256');
    signer = await provider.open(key);
  });
  after(async () => {
    await provider?.close();
    hsm?.drop();
  });

  it(`${SIGNATURES} ES256 signatures, ${AT_ONCE} in flight at a time: the process survives and every one verifies`, async () => {
    const publicKey = createPublicKey({ key: signer.publicJwk as never, format: 'jwk' });
    let verified = 0;
    for (let done = 0; done < SIGNATURES; done += AT_ONCE) {
      const inputs = Array.from({ length: AT_ONCE }, (_, i) => Buffer.from(`header.payload-${done + i}`));
      const signatures = await Promise.all(inputs.map((input) => signer.sign(input)));
      signatures.forEach((signature, i) => {
        assert.equal(signature.length, 64, 'raw r||s');
        if (verifySignature('sha256', inputs[i]!, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) verified++;
      });
    }
    assert.equal(verified, SIGNATURES);
  });
});
