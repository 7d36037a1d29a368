/**
 * The one clock. Production runs at scale 1; the demo and tests run a 14-day sequence in
 * seconds with a scale of thousands, through the same code, BullMQ delays included:
 * simulated time = origin + (real time − origin) × scale.
 */
export interface Clock {
  /** Simulated now. */
  now(): Date;
  /** Real milliseconds to wait for `simulatedMs` to pass. */
  realDelay(simulatedMs: number): number;
  /** The real epoch milliseconds at which simulated time `at` arrives. */
  realTimeOf(at: Date): number;
}

/** A clock stopped at `at`: reports and pages as of a moment (tests, screenshots). */
export function fixedClock(at: Date): Clock {
  return { now: () => at, realDelay: (simulatedMs) => Math.max(0, simulatedMs), realTimeOf: (time) => time.getTime() };
}

export function scaledClock(scale: number, origin = Date.now(), realNow: () => number = Date.now): Clock {
  return {
    now: () => new Date(origin + (realNow() - origin) * scale),
    realDelay: (simulatedMs) => Math.max(0, Math.ceil(simulatedMs / scale)),
    realTimeOf: (at) => origin + (at.getTime() - origin) / scale,
  };
}
