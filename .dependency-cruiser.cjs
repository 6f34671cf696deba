// dependency-cruiser rules (issue 13): the layers of src/ import only downwards, nothing imports in
// a cycle (type-only imports count), and only the CLI in src/ may import the native-free entry.
// Run by `npm run lint:deps` (part of `npm test`: test/architecture.test.ts). docs/architecture.md
// draws the layers.
//
// Layers, lowest first; a module may import its own layer and the ones before it.
const LAYERS = [
  ['base', '^src/base/'],
  ['format', '^src/format/'],
  ['io', '^src/io/'],
  ['segment', '^src/segment/'],
  ['store', '^src/store/'],
  ['log', '^src/log/'],
  ['cleaner', '^src/cleaner/'],
  ['consumers', '^src/consumers/'],
  ['verify', '^src/verify/'],
  ['backup', '^src/backup/'],
  ['facade', '^src/[^/]+$'],
  ['kafka', '^src/kafka/'],
  ['cli', '^src/cli/'],
];

const layerRules = LAYERS.slice(0, -1).map(([name, path], i) => ({
  name: `layer-${name}`,
  severity: 'error',
  comment: `${name} may import only ${LAYERS.slice(0, i + 1).map(([n]) => n).join(', ')} (layers import downwards)`,
  from: { path },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'no import cycles, type-only imports included',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'src-not-to-native-free',
      severity: 'error',
      comment: 'only the CLI in src/ may import the native-free entry point',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^native-free/' },
    },
    {
      name: 'native-free-is-wiring',
      severity: 'error',
      comment: 'native-free/ is an entry point: it imports the facade and the store, nothing in between',
      from: { path: '^native-free/' },
      to: { path: '^src/(log|cleaner|consumers|segment)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    exclude: { path: '^(dist|node_modules|test|bench)/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
