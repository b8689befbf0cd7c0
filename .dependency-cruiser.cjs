/**
 * Which way imports run (docs/ARCHITECTURE.md has the map). Checked by `npm run deps:check`, in CI:
 * a wrong-way import or a cycle fails the build.
 *
 *   core/          shared pure model and contracts            → nothing of ours
 *   schema/        database, migrations, audit log writer     → core
 *   federation/    other homeservers (DNS, TLS, OpenID, …)    → core
 *   livekit/       LiveKit's server API, identity records     → core, schema
 *   config/        configuration and registration             → core
 *   appservice/    Matrix side                                → core, schema, federation, livekit
 *   server/        HTTP side (token API, metrics, widget)     → core, schema, federation, livekit
 *   service/       composition root and CLI                   → everything but tests and tools
 *   scripts/, bench/ tools                                    → anything but tests
 *   widget/        browser app                                → itself, and types of core/token-wire.ts
 */
const layers = ['core', 'schema', 'federation', 'livekit', 'config', 'appservice', 'server', 'service'];
const tools = ['scripts', 'bench', 'test', 'widget'];
const allowed = {
  core: [],
  schema: ['core'],
  federation: ['core'],
  livekit: ['core', 'schema'],
  config: ['core'],
  appservice: ['core', 'schema', 'federation', 'livekit'],
  server: ['core', 'schema', 'federation', 'livekit'],
  service: ['core', 'schema', 'federation', 'livekit', 'config', 'appservice', 'server'],
};
const folders = (list) => `^(${list.join('|')})/`;

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Modules that import each other are one module in disguise.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layers.map((layer) => ({
      name: `${layer}-imports-only-below`,
      comment: `${layer}/ may import only ${allowed[layer].join(', ') || 'itself'} (and packages).`,
      severity: 'error',
      from: { path: `^${layer}/` },
      to: { path: folders([...layers, ...tools].filter((l) => l !== layer && !allowed[layer].includes(l))) },
    })),
    {
      name: 'tools-do-not-import-tests',
      comment: 'The demo, the stack scripts and the benchmarks stand on their own, not on the test suite.',
      severity: 'error',
      from: { path: '^(scripts|bench)/' },
      to: { path: '^test/' },
    },
    {
      name: 'widget-stands-alone',
      comment: 'The browser bundle imports only itself, packages, and (types only) the token wire format.',
      severity: 'error',
      from: { path: '^widget/' },
      to: { path: folders([...layers, 'scripts', 'bench', 'test']), pathNot: '^core/token-wire\\.ts$' },
    },
    {
      name: 'widget-takes-wire-types-only',
      comment: 'The token wire format is shared as types: no server code in the bundle.',
      severity: 'error',
      from: { path: '^widget/' },
      to: { path: '^core/token-wire\\.ts$', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|\\.stack|test-results)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
