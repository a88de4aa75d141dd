/**
 * Throwaway SoftHSM2 tokens for the HSM tests: each lives in a temp folder of its own, named by a
 * SoftHSM2 config file (SOFTHSM2_CONF), and is initialised with softhsm2-util. SoftHSM2 and OpenSC are
 * installed by .ci/softhsm.sh; a missing one fails the test, it never skips.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const MODULES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];

export function softHsmModule(): string {
  const found = [process.env.SOFTHSM2_MODULE, ...MODULES].find((m): m is string => !!m && existsSync(m));
  if (!found) throw new Error('libsofthsm2.so not found: run .ci/softhsm.sh (installs softhsm2 and opensc)');
  return found;
}

export interface SoftHsmToken {
  readonly dir: string;
  /** The SoftHSM2 config file: SOFTHSM2_CONF for every process that uses this token. */
  readonly conf: string;
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  /** D1AUTHZ_* settings of the pkcs11 provider on this token. */
  readonly settings: { keyProvider: 'pkcs11'; pkcs11Module: string; pkcs11TokenLabel: string; pkcs11Pin: string };
  readonly env: Record<string, string>;
  /** pkcs11-tool on this token, logged in; returns stdout, or throws with its stderr. */
  tool(args: string[]): string;
  /** pkcs11-tool, its exit status and output, for calls that are meant to fail. */
  toolResult(args: string[]): { status: number | null; output: string };
  /**
   * Asks the token, through the PKCS#11 binding in a process of its own, for attributes of the private
   * key with this CKA_ID: each comes back as hex, or as the error the token answered.
   */
  privateKeyAttributes(idHex: string, attributes: string[]): Record<string, string>;
  /** Takes the token away (its folder is moved), as a pulled HSM or a lost partition. */
  remove(): void;
  restore(): void;
  /** Points the config file at an empty folder (a broken SOFTHSM2_CONF), or back. */
  breakConfig(): void;
  fixConfig(): void;
  drop(): void;
}

export function createSoftHsmToken(label = 'd1-authz-test'): SoftHsmToken {
  const module = softHsmModule();
  const dir = mkdtempSync(join(tmpdir(), 'd1authz-hsm-'));
  const tokens = join(dir, 'tokens');
  const conf = join(dir, 'softhsm2.conf');
  const writeConf = (tokenDir: string) => writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  execFileSync('mkdir', ['-p', tokens]);
  writeConf(tokens);
  const pin = '246813579';
  const env = { SOFTHSM2_CONF: conf };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '97531864', '--pin', pin], { env: { ...process.env, ...env }, stdio: 'pipe' });
  const toolArgs = (args: string[]) => ['--module', module, '--token-label', label, '--login', '--pin', pin, ...args];
  return {
    dir,
    conf,
    module,
    label,
    pin,
    env,
    settings: { keyProvider: 'pkcs11', pkcs11Module: module, pkcs11TokenLabel: label, pkcs11Pin: pin },
    tool: (args) => execFileSync('pkcs11-tool', toolArgs(args), { env: { ...process.env, ...env }, stdio: 'pipe' }).toString(),
    toolResult: (args) => {
      const r = spawnSync('pkcs11-tool', toolArgs(args), { env: { ...process.env, ...env } });
      return { status: r.status, output: `${r.stdout}${r.stderr}` };
    },
    privateKeyAttributes: (idHex, attributes) => {
      const script = `
        const p = require('pkcs11js');
        const [module, label, pin, id, names] = process.argv.slice(1);
        const m = new p.PKCS11(); m.load(module); m.C_Initialize();
        const slot = m.C_GetSlotList(true).find((s) => m.C_GetTokenInfo(s).label.trim() === label);
        const s = m.C_OpenSession(slot, p.CKF_SERIAL_SESSION); m.C_Login(s, p.CKU_USER, pin);
        m.C_FindObjectsInit(s, [{ type: p.CKA_CLASS, value: p.CKO_PRIVATE_KEY }, { type: p.CKA_ID, value: Buffer.from(id, 'hex') }]);
        const [key] = m.C_FindObjects(s, 1); m.C_FindObjectsFinal(s);
        const out = {};
        for (const name of names.split(',')) {
          try { out[name] = m.C_GetAttributeValue(s, key, [{ type: p[name] }])[0].value.toString('hex'); } catch (e) { out[name] = 'error ' + e.message; }
        }
        process.stdout.write(JSON.stringify(out));
        m.C_Finalize();`;
      const out = execFileSync(process.execPath, ['-e', script, module, label, pin, idHex, attributes.join(',')], { env: { ...process.env, ...env }, cwd: ROOT, stdio: 'pipe' });
      return JSON.parse(out.toString()) as Record<string, string>;
    },
    remove: () => renameSync(tokens, tokens + '.away'),
    restore: () => renameSync(tokens + '.away', tokens),
    breakConfig: () => writeConf(join(dir, 'nowhere')),
    fixConfig: () => writeConf(tokens),
    drop: () => rmSync(dir, { recursive: true, force: true }),
  };
}
