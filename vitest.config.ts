import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real gateway and worker processes; two cores cannot run many at once.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
