/**
 * How fast the demo's clock may run: it runs at the planned scale while the workers keep up,
 * and slows while they fall behind, so a busy machine makes the run take longer instead of
 * sending emails hours late in simulated time (at 8,000×, one second behind is more than two
 * simulated hours, enough to push purchases out of their windows and shrink what the demo
 * plants). Pure: the run asks it twice a second with how late the engine is.
 *
 * The signal is lateness in simulated time (the most overdue step, the oldest order waiting
 * to be enrolled), not a count of waiting jobs: a burst of jobs that the workers clear
 * within minutes of simulated time costs the demo nothing, and a count that reacted to every
 * burst held one CI run's clock near a third of its plan for most of the replay.
 */

/**
 * The clock never runs slower than this share of its plan: a bound on how much longer a busy
 * machine makes the run (at 1/16 a run beside the CI's heaviest tests took three times as long).
 */
export const SLOWEST_PACE = 1 / 4;

/** Past this many simulated hours late, the clock halves its pace: a one-hour thank-you sent three hours after the order. */
export const SLOW_AFTER_HOURS = 3;

/** Within this many simulated hours, the clock speeds back up. */
export const CAUGHT_UP_HOURS = 1;

/**
 * Lateness the workers cannot avoid, in real seconds: a batch waits a few milliseconds for
 * others, a delayed job is promoted when a worker asks, a step takes tens of milliseconds. At
 * the tail's 40,000× one real second is eleven simulated hours, so the thresholds above
 * would slow the clock for the engine's ordinary pace; lateness within this many real
 * seconds never slows it.
 */
export const UNAVOIDABLE_SECONDS = 1;

/**
 * The pace for the next interval, from the current one, how many simulated hours the engine
 * is behind and how many simulated hours pass in a real second at the current pace: halved
 * past {@link SLOW_AFTER_HOURS} (down to {@link SLOWEST_PACE}), raised by a quarter (up to
 * the plan) within {@link CAUGHT_UP_HOURS}, kept in between; each threshold at least
 * {@link UNAVOIDABLE_SECONDS} of real time (a third of it to catch up).
 */
export function nextPace(pace: number, lateHours: number, hoursPerSecond: number): number {
  if (lateHours > Math.max(SLOW_AFTER_HOURS, UNAVOIDABLE_SECONDS * hoursPerSecond)) return Math.max(SLOWEST_PACE, pace / 2);
  if (lateHours <= Math.max(CAUGHT_UP_HOURS, (UNAVOIDABLE_SECONDS / 3) * hoursPerSecond)) return Math.min(1, pace * 1.25);
  return pace;
}

/** What the pacing did over a run: the slowest pace, the real seconds spent below the plan, the most it was behind. */
export interface PaceSummary {
  slowest: number;
  slowedSeconds: number;
  /** The most simulated hours the engine was ever behind, at a check twice a second. */
  latestHours: number;
}
