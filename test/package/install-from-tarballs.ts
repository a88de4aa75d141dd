/**
 * Packaging check: what `npm pack` makes of the two packages is what a bank installs. Both tarballs
 * go into an empty project, which imports `d1-authz`, `d1-authz/guard` and `@d1-authz/guard` at run
 * time and type-checks code against them; the guard installed alone must bring no other package;
 * publint and @arethetypeswrong/cli read the tarballs too.
 *
 * Not named *.test.ts, so that it runs once (`npm run test:package`), not once per store. It packs
 * the current build and builds first when dist/ is missing or older than a source file (`npm ci`
 * builds through `prepare`, so in CI it usually does not have to).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GUARD_DIR = join(ROOT, 'packages/guard');
const BIN = join(ROOT, 'node_modules/.bin');
const execFileP = promisify(execFile);

/** npm run exports its settings as npm_* variables; a child npm in another project must not inherit them (a workspace, say). */
function cleanEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())));
}

async function run(cmd: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  const started = performance.now();
  try {
    const { stdout } = await execFileP(cmd, args, { cwd, env: cleanEnv(), timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  } finally {
    console.log(`# ${(performance.now() - started).toFixed(0)} ms  ${cmd.replace(ROOT, '')} ${args.join(' ').replaceAll(ROOT, '')}`);
  }
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function oldestBuild(): number {
  const outputs = [join(ROOT, 'dist/index.js'), join(ROOT, 'dist/guard.js'), join(GUARD_DIR, 'dist/index.js')];
  return Math.min(...outputs.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
}

const sources = ['src', 'packages/guard/src', 'package.json', 'packages/guard/package.json', 'tsconfig.json', 'tsconfig.build.json', 'packages/guard/tsconfig.build.json'];

/** Starts `work` now (the checks below run side by side: most of their time is waiting on disk and child processes); a test awaits it. */
function begin<T>(work: () => Promise<T>): Promise<T> {
  const p = work();
  p.catch(() => undefined); // reported by the test that awaits it
  return p;
}

interface Packed {
  readonly name: string;
  readonly filename: string;
  readonly files: { path: string }[];
}

/** Files of the empty consumer project. */
function writeProject(dir: string, typescript: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        // As `tsc --init` writes it. The @ts-expect-error lines below fail if a type degrades to any.
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules/@types')],
      },
      include: ['*.ts'],
    }),
  );
  writeFileSync(join(dir, 'consumer.ts'), typescript);
}

const GUARD_TYPES = (specifier: string, alias: string) => `
import { createGuard as ${alias}, GuardError as ${alias}Error, type Guard as ${alias}Guard, type GuardTlsOptions as ${alias}Tls } from '${specifier}';
const ${alias}Tls: ${alias}Tls = { ca: '-----BEGIN CERTIFICATE-----' };
const ${alias}G: ${alias}Guard = ${alias}({ issuer: 'https://authz.example', audience: 'api', tls: ${alias}Tls });
export const ${alias}Realm: string = ${alias}G.realm;
// @ts-expect-error audience is required
${alias}({ issuer: 'https://authz.example' });
// @ts-expect-error verify takes a header value, not a number
void ${alias}G.verify(42);
export const ${alias}Status: number = new ${alias}Error({ status: 401, code: undefined, description: 'x', realm: 'r' }).status;
`;

describe('packages install from their tarballs', () => {
  let work: string;
  let server: Packed;
  let guard: Packed;
  let attwServer: Promise<string>;
  let attwGuard: Promise<string>;
  let serverProject: Promise<{ out: unknown }>;
  let guardProject: Promise<{ modules: string; top: string[]; scope: string[]; installed: string[]; exported: string[] }>;
  const tarball = (p: Packed) => join(work, p.filename);
  const tsc = (project: string) => run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], project);

  async function installWithServer() {
    const project = join(work, 'with-server');
    writeProject(
      project,
      `
import { createApp, loadConfig, ConfigError, type App, type Config, type ConfigInput } from 'd1-authz';
const input: ConfigInput = { databaseUrl: 'sqlite::memory:' };
export const load: (flags?: Partial<ConfigInput>) => Config = loadConfig;
export const start: (config: Config) => Promise<App> = createApp;
export const isConfigError = (e: unknown): boolean => e instanceof ConfigError;
// @ts-expect-error not a setting
loadConfig({ notASetting: true });
void input;
${GUARD_TYPES('d1-authz/guard', 'viaServer')}
${GUARD_TYPES('@d1-authz/guard', 'direct')}
`,
    );
    // The server's own dependencies come from npm's cache (the registry for what it lacks); no
    // install scripts, so better-sqlite3 is not compiled: importing d1-authz does not load it.
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', tarball(server), tarball(guard)], project, 180_000);
    const probe = `
      const server = await import('d1-authz');
      const viaServer = await import('d1-authz/guard');
      const direct = await import('@d1-authz/guard');
      console.log(JSON.stringify({
        server: [typeof server.createApp, typeof server.loadConfig, typeof server.ConfigError],
        guard: [typeof viaServer.createGuard, typeof direct.createGuard, viaServer.createGuard === direct.createGuard, viaServer.GuardError === direct.GuardError],
        issuer: server.loadConfig({ databaseUrl: 'sqlite::memory:', port: 8080 }, {}).issuer,
      }));`;
    const [out] = await Promise.all([run(process.execPath, ['--input-type=module', '-e', probe], project), tsc(project)]);
    return { out: JSON.parse(out) as unknown };
  }

  async function installGuardOnly() {
    const project = join(work, 'guard-only');
    writeProject(project, GUARD_TYPES('@d1-authz/guard', 'direct'));
    // Nothing to fetch: --offline fails should the guard ever gain a dependency that is not cached.
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', tarball(guard)], project);
    const modules = join(project, 'node_modules');
    const listing = {
      modules,
      top: readdirSync(modules).filter((e) => e !== '.package-lock.json'),
      scope: readdirSync(join(modules, '@d1-authz')),
      installed: readdirSync(join(modules, '@d1-authz/guard')).sort(),
    };
    const script = "const g = await import('@d1-authz/guard'); console.log(Object.keys(g).sort().join(' '))";
    const [exported] = await Promise.all([run(process.execPath, ['--input-type=module', '-e', script], project), tsc(project)]);
    return { ...listing, exported: exported.trim().split(' ') };
  }

  before(async () => {
    const started = performance.now();
    work = mkdtempSync(join(tmpdir(), 'd1authz-package-'));
    if (oldestBuild() < Math.max(...sources.map((s) => newestMtime(join(ROOT, s))))) {
      console.log('# the build is missing or older than the sources: npm run build');
      await run('npm', ['run', 'build'], ROOT, 300_000);
    }
    const packed = JSON.parse(
      await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work, '--workspace', '@d1-authz/guard', '--include-workspace-root'], ROOT),
    ) as Packed[];
    server = packed.find((p) => p.name === 'd1-authz')!;
    guard = packed.find((p) => p.name === '@d1-authz/guard')!;
    assert.ok(server && guard, `packed: ${packed.map((p) => p.name).join(', ')}`);
    console.log(`# packed in ${(performance.now() - started).toFixed(0)} ms: ${server.files.length} + ${guard.files.length} files`);
    // ESM-only packages: resolution for CommonJS require() and TypeScript's node10 mode does not apply.
    const attw = (p: Packed) => run(join(BIN, 'attw'), [tarball(p), '--profile', 'esm-only', '--no-definitely-typed', '--format', 'ascii', '--no-color', '--no-emoji'], work);
    attwServer = begin(() => attw(server));
    attwGuard = begin(() => attw(guard));
    serverProject = begin(installWithServer);
    guardProject = begin(installGuardOnly);
  });
  after(async () => {
    await Promise.allSettled([attwServer, attwGuard, serverProject, guardProject]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('each tarball holds its build, its types and its package.json, no sources, tests or benchmarks', () => {
    const serverFiles = server.files.map((f) => f.path);
    for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/guard.js', 'dist/guard.d.ts', 'dist/cli/bin.cjs']) assert.ok(serverFiles.includes(f), `d1-authz lacks ${f}`);
    const strays = serverFiles.filter((f) => !f.startsWith('dist/') && !/^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(f));
    assert.deepEqual(strays, [], 'd1-authz ships only dist/ and its documents');
    assert.ok(!serverFiles.some((f) => f.startsWith('dist/guard/')), 'the guard is not built into the server package');

    const guardFiles = guard.files.map((f) => f.path);
    for (const f of ['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/guard.js', 'dist/transport.js']) assert.ok(guardFiles.includes(f), `@d1-authz/guard lacks ${f}`);
    const guardStrays = guardFiles.filter((f) => !/^dist\/[\w-]+\.(js|d\.ts)$/.test(f) && !/^(package\.json|README\.md|LICENSE)$/.test(f));
    assert.deepEqual(guardStrays, [], '@d1-authz/guard ships only its compiled files');
    const manifest = JSON.parse(readFileSync(join(GUARD_DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest['dependencies'], undefined, 'the guard has no dependencies');
  });

  for (const which of ['d1-authz', '@d1-authz/guard'] as const) {
    it(`publint finds nothing in the ${which} tarball`, async () => {
      const packed = which === 'd1-authz' ? server : guard;
      const bytes = readFileSync(tarball(packed));
      const { messages, pkg } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'suggestion', strict: true });
      assert.deepEqual(messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`), []);
    });

    it(`@arethetypeswrong/cli finds no problem in the ${which} tarball`, async () => {
      await (which === 'd1-authz' ? attwServer : attwGuard);
    });
  }

  it('both install into an empty project, where d1-authz, d1-authz/guard and @d1-authz/guard import and type-check', async () => {
    const { out } = await serverProject;
    assert.deepEqual(out, {
      server: ['function', 'function', 'function'],
      guard: ['function', 'function', true, true],
      issuer: 'http://127.0.0.1:8080/authz/d1/v1',
    });
  });

  it('the guard installed alone brings no other package, imports and type-checks', async () => {
    const { modules, top, scope, installed, exported } = await guardProject;
    assert.deepEqual(top, ['@d1-authz'], `${modules} holds only the guard`);
    assert.deepEqual(scope, ['guard']);
    assert.deepEqual(installed, ['dist', 'package.json', ...(guard.files.some((f) => f.path === 'README.md') ? ['README.md'] : [])].sort());
    for (const name of ['createGuard', 'createIntrospectionCheck', 'createRevocationFeed', 'withGuard', 'expressGuard', 'd1AuthPlugin', 'GuardError']) {
      assert.ok(exported.includes(name), `${name} in ${exported.join(' ')}`);
    }
  });
});
