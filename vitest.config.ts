import { defineConfig } from 'vitest/config';

// Process pool everywhere: chdb (and native drivers) are not safe in worker threads.
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          pool: 'forks',
          include: ['**/*.test.ts'],
          exclude: ['**/*.it.test.ts', 'node_modules/**', '.rtdw/**'],
        },
      },
      {
        test: {
          name: 'integration',
          pool: 'forks',
          include: ['**/*.it.test.ts'],
          exclude: ['node_modules/**', '.rtdw/**'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Integration tests share one real stack; run their files one at a time.
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
