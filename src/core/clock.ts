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

/** A stretch of a phased clock: `scale` until simulated epoch ms `until`; the last stretch has none and runs on. */
export interface ClockPhase {
  scale: number;
  until?: number;
}

/**
 * A scaled clock whose scale changes at simulated times fixed in advance: the demo runs
 * slowly while orders pour in and the workers are busiest, then faster while customers'
 * measurement windows close. The mapping between real and simulated time is fixed at
 * creation, so a delay computed in one stretch for a moment in another is still right:
 * `realDelay` and `realTimeOf` go through the same piecewise-linear map as `now`.
 */
export function phasedClock(phases: readonly ClockPhase[], origin = Date.now(), realNow: () => number = Date.now): Clock {
  if (phases.length === 0 || phases.some((p) => !(p.scale > 0))) throw new RangeError('a phased clock needs phases with positive scales');
  const starts: { real: number; sim: number; scale: number }[] = [];
  let [real, sim] = [origin, origin];
  for (const phase of phases) {
    starts.push({ real, sim, scale: phase.scale });
    if (phase.until === undefined) break;
    if (phase.until <= sim) throw new RangeError('the phases of a clock must end in order, after its origin');
    real += (phase.until - sim) / phase.scale;
    sim = phase.until;
  }
  // The stretch a moment falls in: the last that started by then (before the origin, the first).
  const stretch = (key: 'real' | 'sim', at: number) => starts.findLast((s) => s[key] <= at) ?? starts[0]!;
  const now = () => {
    const r = realNow();
    const s = stretch('real', r);
    return new Date(s.sim + (r - s.real) * s.scale);
  };
  const realTimeOf = (at: Date) => {
    const s = stretch('sim', at.getTime());
    return s.real + (at.getTime() - s.sim) / s.scale;
  };
  return {
    now,
    realTimeOf,
    realDelay: (simulatedMs) => Math.max(0, Math.ceil(realTimeOf(new Date(now().getTime() + simulatedMs)) - realNow())),
  };
}
