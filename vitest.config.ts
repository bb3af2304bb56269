import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'proto', include: ['proto/src/**/*.test.ts'] } },
      { test: { name: 'flight-server', include: ['flight-server/src/**/*.test.ts'] } },
      { test: { name: 'e2e', include: ['test/src/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
    ],
  },
});
