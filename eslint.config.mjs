// ESLint: typescript-eslint's recommended type-checked rules over the server, the guard, the tests and
// the bench (`npm run lint`, part of `npm test`). What is relaxed, and why, is said at each place.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // The console's browser script is plain JS served as is; the build output is generated.
  { ignores: ['dist/**', 'packages/*/dist/**', 'node_modules/**', 'bench/.bench-tmp/**', 'src/admin/console/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Fastify plugins and handlers, and the KeyProvider / LockoutCounters interfaces, are async by
      // contract even where one implementation has nothing to wait for.
      '@typescript-eslint/require-await': 'off',
      // `_name` marks what a destructuring leaves out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Kysely's advice for migrations: a migration must not depend on today's schema type.
    files: ['src/store/migrations.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // node:test's describe/it/before/after return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach', 'suite'] }] },
      ],
      // Tests read JSON answers from real HTTP (typed any) and assert their shape field by field.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // Assertion messages print whatever was found, arrays and unknowns included.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // Tests look for control characters (ANSI colours, NUL in secrets) on purpose.
      'no-control-regex': 'off',
      // Fakes reject with whatever a misbehaving dependency might.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
    },
  },
);
