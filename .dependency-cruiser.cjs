/**
 * Import boundaries (`npm run test:boundaries`). Imports run one way, from the outside in:
 *
 *   cli → app → admin → http, gateway → config, tls, transport, cluster → protocol → domain → store → model → errors
 *
 * Each layer may import itself and any layer to its right, never one to its left.
 * - cli (src/cli): the command line; the only code that may start everything.
 * - app (the files at src/ root: app.ts, token-status.ts, lockout.ts, index.ts, guard.ts): the composition
 *   root; it reads the config and hands each part the settings it needs.
 * - admin (src/admin): the admin API and console; it reuses the HTTP layer's plugins.
 * - http, gateway (src/http, src/gateway): the listeners. Neither imports the other.
 * - infrastructure (src/config, src/tls, src/transport, src/cluster): config loading and schema, TLS
 *   options and policy, socket limits, the worker supervisor. The listeners and the root use them; the
 *   protocol and everything under it never see the config, only plain settings.
 * - protocol (src/protocol): the OAuth steps (form body, Basic, scope, client authentication, endpoints).
 * - domain (src/domain): clients, keys, tokens, lockout, revocations, audit; declares what it needs
 *   from storage.
 * - store (src/store): Kysely repositories; they map rows to model types.
 * - model (src/model): plain types and pure rules shared by every layer (scope grammar, DN form,
 *   certificate matching, lockout arithmetic); imports nothing from src but errors.
 * - errors (src/errors): the error root, its code table and the one serializer of error bodies and
 *   challenges; every layer may throw and answer with them; imports nothing else from src.
 * - guard (packages/guard/src): a leaf; it imports nothing from src.
 */

/** A layer's folder pattern and the patterns it must not import from. */
const LAYERS = [
  { name: 'errors', path: '^src/errors/', allowed: ['^src/errors/'] },
  { name: 'model', path: '^src/model/', allowed: ['^src/(model|errors)/'] },
  { name: 'store', path: '^src/store/', allowed: ['^src/(store|model|errors)/'] },
  { name: 'domain', path: '^src/domain/', allowed: ['^src/(domain|store|model|errors)/'] },
  { name: 'protocol', path: '^src/protocol/', allowed: ['^src/(protocol|domain|model|errors)/'] },
  {
    name: 'infrastructure',
    path: '^src/(config|tls|transport|cluster)/',
    allowed: ['^src/(config|tls|transport|cluster|protocol|domain|store|model|errors)/'],
  },
  {
    name: 'http',
    path: '^src/http/',
    allowed: ['^src/(http|config|tls|transport|cluster|protocol|domain|store|model|errors)/'],
  },
  {
    name: 'gateway',
    path: '^src/gateway/',
    allowed: ['^src/(gateway|config|tls|transport|cluster|protocol|domain|store|model|errors)/'],
  },
  {
    name: 'admin',
    path: '^src/admin/',
    allowed: ['^src/(admin|http|config|tls|transport|cluster|protocol|domain|store|model|errors)/'],
  },
  {
    name: 'app',
    path: '^src/[^/]+$',
    allowed: ['^src/[^/]+$', '^src/(admin|http|gateway|config|tls|transport|cluster|protocol|domain|store|model|errors)/'],
  },
];

const layerRules = LAYERS.map((layer) => ({
  name: `${layer.name}-imports-inward-only`,
  comment: `${layer.name} may import only ${layer.allowed.join(', ')} from src`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: '^src/', pathNot: layer.allowed },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'guard-is-a-leaf',
      comment: 'the guard ships as its own package: it must not reach into the server',
      severity: 'error',
      from: { path: '^packages/guard/src/' },
      to: { path: '^(src|test|bench)/' },
    },
    {
      name: 'src-uses-guard-through-its-package',
      comment: 'the server uses the guard by its package name, not by reaching into its sources',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^packages/guard/src/', pathNot: '^packages/guard/src/index\\.ts$' },
    },
    {
      name: 'no-circular',
      comment: 'a cycle means two modules cannot be understood, tested or moved apart',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve would also escape the rules above',
      severity: 'error',
      from: { path: '^(src|packages/guard/src)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a layer that names another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.cts', '.mts', '.js', '.cjs', '.mjs', '.json'],
    },
  },
};
