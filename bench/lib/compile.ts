// Transpile the baseline servers to plain JavaScript before benchmarking them, so they run under
// bare `node` like d1-authz's dist/ does. Running them through `--import tsx` instead costs ~30 MiB
// RSS and startup time per process (the loader thread), which would skew the comparison.
//
// Output goes to bench/.bench-tmp/ (git-ignored by the repository's `.bench-tmp/` rule) so that bare
// imports (fastify, jose, oidc-provider) resolve from the repository's node_modules.

import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import ts from 'typescript';

const BENCH_DIR = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const COMPILED_DIR = join(BENCH_DIR, '.bench-tmp', 'js');

const SOURCES = [
  ...readdirSync(join(BENCH_DIR, 'baselines'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join('baselines', f)),
  join('lib', 'shared.ts'),
];

let done = false;

/** Transpile once per driver run; returns the directory holding baselines/*.js. */
export function compileBaselines(): string {
  if (done) return COMPILED_DIR;
  rmSync(COMPILED_DIR, { recursive: true, force: true });
  for (const rel of SOURCES) {
    const src = readFileSync(join(BENCH_DIR, rel), 'utf8');
    const out = ts.transpileModule(src, {
      fileName: rel,
      reportDiagnostics: true,
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        sourceMap: false,
      },
    });
    const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0) {
      throw new Error(`transpiling ${rel}: ${ts.flattenDiagnosticMessageText(errors[0]?.messageText ?? '', '\n')}`);
    }
    const dest = join(COMPILED_DIR, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out.outputText);
  }
  done = true;
  return COMPILED_DIR;
}
