import { defineConfig } from 'vitest/config';

/**
 * graphql ships both index.mjs (what Vite resolves) and index.js (what Node and the CJS Apollo
 * packages load); one realm must hold both, so source files get the CJS entry too.
 */
const graphqlRealm = { alias: { graphql: 'graphql/index.js' } };

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'contract', include: ['contract/src/**/*.test.ts'] } },
      { test: { name: 'proto', include: ['proto/src/**/*.test.ts'] } },
      { test: { name: 'client', include: ['client/src/**/*.test.ts'] } },
      { test: { name: 'flight-server', include: ['flight-server/src/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 } },
      { resolve: graphqlRealm, test: { name: 'user-service', include: ['user-service/src/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 } },
      { resolve: graphqlRealm, test: { name: 'graphql-http', include: ['graphql-http/src/**/*.test.ts'] } },
      { resolve: graphqlRealm, test: { name: 'graphql-facade', include: ['graphql-facade/src/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 } },
      { resolve: graphqlRealm, test: { name: 'gateway', include: ['gateway/src/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 } },
      { test: { name: 'web', include: ['web/src/**/*.test.ts'] } },
      { resolve: graphqlRealm, test: { name: 'e2e', include: ['test/src/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
    ],
  },
});
