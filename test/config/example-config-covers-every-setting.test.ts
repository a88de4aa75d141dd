/** examples/config.yaml cannot drift from the settings: every key of the config schema is in it, and it loads. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

const FILE = fileURLToPath(new URL('../../examples/config.yaml', import.meta.url));

describe('examples/config.yaml', () => {
  it('names every setting of the schema, each with a comment above it', () => {
    const lines = readFileSync(FILE, 'utf8').split('\n');
    for (const key of Object.keys(configSchema.shape)) {
      const at = lines.findIndex((l) => new RegExp(`^(# )?${key}:`).test(l));
      assert.ok(at >= 0, `${key} is missing from examples/config.yaml`);
      let above = at - 1;
      while (above >= 0 && /^(# )?[a-zA-Z]+:/.test(lines[above]!)) above--;
      assert.match(lines[above] ?? '', /^# \S/, `${key} has a comment`);
    }
  });

  it('loads as a config file and its active values are the defaults', () => {
    const fromFile = loadConfig({}, {}, FILE);
    const defaults = loadConfig({}, {}, undefined);
    assert.deepEqual(fromFile, defaults);
  });
});
