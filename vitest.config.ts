import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The demo at its defaults first (about 5 min), then the slowest files (45 s to 3.5 min on two
 * cores), longest first, then the rest in vitest's own order. Without timings (a fresh clone,
 * CI) vitest starts the largest files first, which left one worker idle for minutes at the
 * end beside the demo. The demo runs on a scaled clock that waits for its workers when the
 * machine is busy (src/demo/pace.ts), so beside chaos.test.ts or the browser tests it takes
 * longer rather than losing its planted truth; started first, that extra time overlaps the
 * other worker's files instead of adding to the run.
 */
const SLOWEST = [
  'tests/demo-default.test.ts',
  'tests/chaos.test.ts',
  'tests/dashboard.test.ts',
  'tests/fuzz-api.test.ts',
  'tests/pglite-lock.test.ts',
  'tests/cli.test.ts',
  'tests/discount-chaos.test.ts',
  'tests/cluster.test.ts',
  'tests/dashboard-pages.test.ts',
  'tests/dashboard-actions.test.ts',
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
