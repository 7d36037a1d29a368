import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The slowest files, longest first (about 5 min down to 45 s on two cores). Vitest starts
 * files it has no timings for (a fresh clone, CI) largest first, which put the small but
 * longest demo-default.test.ts near the end, with the other worker idle for minutes after
 * the rest were done. These go first; the rest follow in vitest's own order.
 */
const SLOWEST = [
  'tests/demo-default.test.ts',
  'tests/chaos.test.ts',
  'tests/dashboard.test.ts',
  'tests/fuzz-api.test.ts',
  'tests/dashboard-actions.test.ts',
  'tests/dashboard-pages.test.ts',
  'tests/demo.test.ts',
  'tests/pglite-lock.test.ts',
  'tests/discount-chaos.test.ts',
];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const i = SLOWEST.findIndex((name) => file.moduleId.endsWith(`/${name}`));
      return i === -1 ? SLOWEST.length : i;
    };
    // A stable sort: the files not listed keep vitest's order after the listed ones.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    sequence: { sequencer: SlowestFirst },
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
