/**
 * The import rules of the monorepo (README "Architecture"), checked by test/src/architecture.test.ts:
 * contract <- proto <- flight-server / client / graphql-facade; storage knows nothing of transport;
 * nothing imports flight-server's internals; no cycles.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const PACKAGES = '^(contract|proto|flight-server|client|graphql-http|graphql-facade|user-service|gateway|web)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one; split the shared part out.',
      severity: 'error',
      from: { path: PACKAGES },
      to: { circular: true },
    },
    {
      name: 'contract-imports-nothing-of-ours',
      comment: 'contract is the bottom layer: no other package of ours, no gRPC.',
      severity: 'error',
      from: { path: '^contract/' },
      to: { pathNot: '^contract/|^node_modules/(apache-arrow|zod|flatbuffers|tslib|@types|vitest)/|^(node:)?[a-z_]+$' },
    },
    {
      name: 'proto-imports-only-contract',
      comment: 'proto is the Flight protocol: it knows the contract and nothing above it.',
      severity: 'error',
      from: { path: '^proto/' },
      to: { path: '^(flight-server|client|graphql-http|graphql-facade|user-service|gateway|bench|test)/' },
    },
    {
      name: 'storage-never-imports-transport',
      comment: 'storage is the engine: gRPC, HTTP/2 and the server layer stay above it.',
      severity: 'error',
      from: { path: '^flight-server/src/storage/' },
      to: { path: '^node_modules/@grpc/|^flight-server/src/(server|service)/|^proto/|^(node:)?http2$' },
    },
    {
      name: 'client-never-imports-the-server',
      comment: 'the CLI and SDK talk to a server over Flight; they share only proto and contract with it.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: '^(flight-server|graphql-http|graphql-facade|user-service|gateway)/' },
    },
    {
      name: 'no-flight-server-internals',
      comment: 'other packages use flight-server through its exports map only.',
      severity: 'error',
      from: { pathNot: '^flight-server/' },
      to: { path: '^flight-server/', pathNot: '^flight-server/(src/index\\.ts|test-support/)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/.*/node_modules/' },
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.json'],
    },
  },
};
