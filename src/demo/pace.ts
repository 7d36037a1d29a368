/**
 * How fast the demo's clock may run: it runs at the planned scale while the workers keep up,
 * and slows while jobs that are due wait for a worker, so a busy machine makes the run take
 * longer instead of sending emails hours late in simulated time (at 8,000×, one second behind
 * is more than two simulated hours, enough to push purchases out of their windows and shrink
 * what the demo plants). Pure: the run asks it twice a second.
 */

/**
 * The clock never runs slower than this share of its plan: a bound on how much longer a busy
 * machine makes the run (at 1/16 a run beside the CI's heaviest tests took three times as long).
 */
export const SLOWEST_PACE = 1 / 4;

/**
 * The pace for the next interval, from the current one and the jobs that are due but wait
 * for a worker: halved while more wait than two rounds of the workers take, raised by a
 * quarter (up to the plan) once fewer than half a round wait, kept in between.
 */
export function nextPace(pace: number, waiting: number, concurrency: number): number {
  if (waiting > 2 * concurrency) return Math.max(SLOWEST_PACE, pace / 2);
  if (waiting <= concurrency / 2) return Math.min(1, pace * 1.25);
  return pace;
}

/** What the pacing did over a run: the slowest pace and the real seconds spent below the plan. */
export interface PaceSummary {
  slowest: number;
  slowedSeconds: number;
}
