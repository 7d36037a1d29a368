import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three files at a time on two cores: most tests wait on Postgres, Redis, SMTP or a child
    // process, so a third file fills the gaps (the suite took 15 min with two, ~12 with three).
    maxWorkers: 3,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
