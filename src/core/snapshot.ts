/**
 * When the dashboard serves a page's figures from their stored snapshot, serves them and
 * builds a newer one behind, or builds them before answering (src/dashboard/snapshots.ts).
 * Ages are real time since the snapshot was built, whatever clock the figures are as of
 * (the demo's runs thousands of times faster).
 */

export type SnapshotAction = 'serve' | 'serve-then-refresh' | 'build';

/**
 * `build` with no snapshot, one older than `maxAgeMs`, or one built in the future (a clock
 * set back); `serve-then-refresh` past half of `maxAgeMs`, so a page looked at regularly is
 * never older than that and never waits; `serve` otherwise. A `maxAgeMs` of 0 builds every
 * time.
 */
export function snapshotAction(builtAt: Date | undefined, now: Date, maxAgeMs: number): SnapshotAction {
  if (builtAt === undefined || maxAgeMs <= 0) return 'build';
  const age = now.getTime() - builtAt.getTime();
  if (age < 0 || age > maxAgeMs) return 'build';
  return age > maxAgeMs / 2 ? 'serve-then-refresh' : 'serve';
}
