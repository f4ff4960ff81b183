// Layering rules: which folder may import which, so each seam of the redesign (issue 12) stays
// single. Run by `npm run lint` through scripts/check-layers.mjs over main/, preload/,
// renderer/src/ and common/ (tests and bench are not checked: they may reach any layer).
// Type-only imports count: a type is a dependency on its owner too.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles hide which module owns what; split the shared part into its own module.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'common-is-portable',
      comment: 'common/ runs in every process (renderer, preload, main, worker, CLI): it may import only common/ and zod, never Node, Electron, tfjs or a process folder.',
      severity: 'error',
      from: { path: '^common/' },
      to: { pathNot: ['^common/', '(^|/)node_modules/zod/'] },
    },
    {
      name: 'renderer-sees-only-the-contract',
      comment: 'The renderer reaches the rest of FlowDesk only through the Api: preload/api.ts (types), preload/channels.ts and common/; never main/ (engine code), Electron, Node or tfjs.',
      severity: 'error',
      from: { path: '^renderer/src/' },
      to: { pathNot: ['^renderer/src/', '^preload/(api|channels)\\.ts$', '^common/', '(^|/)node_modules/(?!electron/|@tensorflow/)'] },
    },
    {
      name: 'engine-is-plain-node',
      comment: 'main/engine/ is plain Node + tfjs so vitest, the CLI and the worker share it: no Electron, no worker, CLI, server or renderer code.',
      severity: 'error',
      from: { path: '^main/engine/' },
      to: { path: ['^main/(?!engine/)', '^renderer/', '(^|/)node_modules/electron/'] },
    },
    {
      name: 'models-below-train-and-onnx',
      comment: 'Models are the definitions; training and the onnx runtime use them, not the reverse (routing compute belongs to main/engine/runtime/).',
      severity: 'error',
      from: { path: '^main/engine/models/' },
      to: { path: '^main/engine/(train|onnx)/' },
    },
    {
      name: 'backend-chooser-behind-the-runtime',
      comment: 'Where compute runs is decided once, by the runtime: only main/engine/runtime/, the backend modules themselves, the worker (which reports the backend) and the CLI line that announces it import the chooser.',
      severity: 'error',
      from: { pathNot: ['^main/engine/runtime/', '^main/engine/backend[^/]*\\.ts$', '^main/worker/', '^main/cli/announce-backend\\.ts$'] },
      // A type names what a report holds; only a value import can start or ask the chooser.
      to: { path: '^main/engine/backend\\.ts$', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
