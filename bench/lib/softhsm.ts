// A throwaway SoftHSM2 token for the d1-authz-hsm target (installed by .ci/softhsm.sh).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MODULES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];

export const softHsmModule = (): string | undefined => [process.env['SOFTHSM2_MODULE'], ...MODULES].find((m): m is string => !!m && existsSync(m));

export async function softHsmUnavailable(): Promise<string | null> {
  if (!softHsmModule()) return 'libsofthsm2.so not found (run .ci/softhsm.sh)';
  try {
    execFileSync('softhsm2-util', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'softhsm2-util not found (run .ci/softhsm.sh)';
  }
}

/** Initialises a token in `dir`; returns the D1AUTHZ_* and SOFTHSM2_CONF variables of the pkcs11 provider on it. */
export function softHsmEnv(dir: string): Record<string, string> {
  const tokens = join(dir, 'softhsm-tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const pin = '1234567890';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'd1-bench', '--so-pin', '0987654321', '--pin', pin], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'ignore' });
  return {
    SOFTHSM2_CONF: conf,
    D1AUTHZ_KEY_PROVIDER: 'pkcs11',
    D1AUTHZ_PKCS11_MODULE: softHsmModule()!,
    D1AUTHZ_PKCS11_TOKEN_LABEL: 'd1-bench',
    D1AUTHZ_PKCS11_PIN: pin,
  };
}
