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
    realDelay: realDelayVia(now, realTimeOf, realNow),
  };
}

/** `realDelay` of a clock given its `now` and `realTimeOf`: the real milliseconds until `simulatedMs` from now. */
function realDelayVia(now: () => Date, realTimeOf: (at: Date) => number, realNow: () => number): Clock['realDelay'] {
  return (simulatedMs) => Math.max(0, Math.ceil(realTimeOf(new Date(now().getTime() + simulatedMs)) - realNow()));
}

/** A clock whose pace can be turned down while it runs (`setPace`), and back up. */
export interface PacedClock extends Clock {
  /** The share of the planned speed the clock runs at now: 1 as planned, 0.5 at half speed. */
  pace(): number;
  /** From now on, run at `pace` × the planned speed; simulated time so far is kept. */
  setPace(pace: number): void;
}

/**
 * A phased clock (the plan) that can run slower than planned: the demo turns it down while
 * the workers are behind, so simulated time waits for them instead of emails going out hours
 * late, and back up once they catch up. Underneath, the plan runs on a virtual real time that
 * advances at `pace` × real time; a change of pace re-anchors that, so `now` is continuous.
 * `realDelay` and `realTimeOf` assume the current pace holds: a delay computed before the
 * clock slows ends early in simulated time (the engine runs such a job when it comes, as it
 * does a job run early on purpose), one computed before it speeds up ends late.
 */
export function pacedClock(phases: readonly ClockPhase[], origin = Date.now(), realNow: () => number = Date.now): PacedClock {
  let anchor = { real: origin, virtual: origin, pace: 1 };
  const virtualAt = (real: number) => anchor.virtual + (real - anchor.real) * anchor.pace;
  const plan = phasedClock(phases, origin, () => virtualAt(realNow()));
  const realTimeOf = (at: Date) => anchor.real + (plan.realTimeOf(at) - anchor.virtual) / anchor.pace;
  return {
    now: () => plan.now(),
    realTimeOf,
    realDelay: realDelayVia(() => plan.now(), realTimeOf, realNow),
    pace: () => anchor.pace,
    setPace(pace) {
      if (!(pace > 0 && pace <= 1)) throw new RangeError(`a clock's pace is in (0, 1], not ${pace}`);
      const real = realNow();
      anchor = { real, virtual: virtualAt(real), pace };
    },
  };
}
