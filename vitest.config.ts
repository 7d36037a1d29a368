import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The slowest files (45 s to 4 min on two cores), longest first, then the demo at its
 * defaults (about 5 min), then the rest in vitest's own order. Without timings (a fresh
 * clone, CI) vitest starts the largest files first, which left one worker idle for minutes
 * at the end beside demo-default.test.ts. The demo runs on a scaled clock that waits for its
 * workers when the machine is busy (src/demo/pace.ts): beside chaos.test.ts and the browser
 * tests it ran three times as long and pushed its neighbours past their time limits, so it
 * starts after them, beside the short files that follow.
 */
const SLOWEST = [
  'tests/chaos.test.ts',
  'tests/dashboard.test.ts',
  'tests/fuzz-api.test.ts',
  'tests/pglite-lock.test.ts',
  'tests/cli.test.ts',
  'tests/discount-chaos.test.ts',
  'tests/cluster.test.ts',
  'tests/dashboard-pages.test.ts',
  'tests/dashboard-actions.test.ts',
  'tests/demo-default.test.ts',
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
    // A worker process runs file after file: each file still gets fresh databases and Redis
    // prefixes, and the source modules are loaded once per worker instead of once per file.
    isolate: false,
    sequence: { sequencer: SlowestFirst },
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
