/** What a bank's legal review and an operator's first command look at: the licence and the version. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/process.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

describe('licence and version', () => {
  it('package.json and LICENSE say Apache-2.0; the version is semver', () => {
    assert.equal(pkg.license, 'Apache-2.0');
    const licence = readFileSync(new URL('../../LICENSE', import.meta.url), 'utf8');
    assert.match(licence, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(licence, /END OF TERMS AND CONDITIONS/);
    assert.match(pkg.version, /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/);
  });

  it('CHANGELOG.md keeps an [Unreleased] section', () => {
    const changelog = readFileSync(new URL('../../CHANGELOG.md', import.meta.url), 'utf8');
    assert.match(changelog, /keepachangelog\.com/);
    assert.match(changelog, /^## \[Unreleased\]$/m);
  });

  it('d1-authz --version prints the version of package.json and exits 0', async () => {
    const r = await runCli(['--version'], { PATH: process.env.PATH ?? '' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });
});
