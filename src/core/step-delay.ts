/**
 * A step's `delay`: a fixed time after the step before (`2d`, `36h`; the first step counts
 * from enrolling), or `replenish` (optionally with a lead, `replenish - 3d`): when the
 * ordered product is typically bought again, counted from the order, learned by
 * `recs build` (src/core/replenish.ts). Pure.
 */
import { formatDuration, parseDuration } from './duration.ts';
import { REPLENISH_MAX_DAYS, refillDays } from './replenish.ts';

const DAY = 86_400_000;
const REPLENISH = /^replenish(?:\s*-\s*(.+))?$/;

export type StepDelay = { kind: 'fixed'; ms: number } | { kind: 'replenish'; leadMs: number };

/** The delay as written, or undefined when it is neither a duration nor `replenish [- duration]`. */
export function parseStepDelay(text: string): StepDelay | undefined {
  const compact = text.trim().toLowerCase();
  const refill = REPLENISH.exec(compact);
  if (refill) {
    const leadMs = refill[1] === undefined ? 0 : parseDuration(refill[1]);
    return leadMs === undefined ? undefined : { kind: 'replenish', leadMs };
  }
  const ms = parseDuration(compact);
  return ms === undefined ? undefined : { kind: 'fixed', ms };
}

/** A step's delay in words, for the dashboard's flow: `after 3d`, or `when bought again, 3d early`. */
export function delayWords(delay: string): string {
  const parsed = parseStepDelay(delay);
  if (parsed?.kind !== 'replenish') return `after ${delay}`;
  return parsed.leadMs === 0 ? 'when bought again (learned)' : `when bought again (learned), ${formatDuration(parsed.leadMs)} early`;
}

/** When a step is due, from the moment the step before it was done with (or the enrollment). */
export interface StepClock {
  /** When the step before was done with, or when the customer enrolled. */
  now: Date;
  /** The trigger order's time: a refill counts from the purchase. */
  orderedAt: Date;
  /** The learned refill interval of this enrollment's order, in days (src/engine/enroll.ts); null: nothing learned. */
  replenishDays: number | null;
}

/**
 * A step's due time. A fixed delay runs from `now`; a refill goes the learned interval (or
 * the fallback) less the lead after the order, and never before `now`.
 */
export function stepDueAt(delay: string, clock: StepClock): Date {
  const parsed = parseStepDelay(delay)!;
  if (parsed.kind === 'fixed') return new Date(clock.now.getTime() + parsed.ms);
  const at = clock.orderedAt.getTime() + refillDays(clock.replenishDays, parsed.leadMs / DAY) * DAY;
  return new Date(Math.max(clock.now.getTime(), at));
}

/** The sequence uses learned refill timing in some step. */
export function usesReplenish(steps: readonly { delay: string }[]): boolean {
  return steps.some((s) => parseStepDelay(s.delay)?.kind === 'replenish');
}

/**
 * The latest a step can go after enrolling, each step in turn: a fixed delay adds to the one
 * before, a refill goes at most `REPLENISH_MAX_DAYS` after the order. What the measurement
 * window is measured from, so every email of every arm falls inside it.
 */
export function latestStepOffsetsMs(steps: readonly { delay: string }[]): number[] {
  let at = 0;
  return steps.map((s) => {
    const parsed = parseStepDelay(s.delay)!;
    at = parsed.kind === 'fixed' ? at + parsed.ms : Math.max(at, REPLENISH_MAX_DAYS * DAY);
    return at;
  });
}

/** A step's typical time after enrolling, for charts and plans: a refill at the fallback interval less its lead. */
export function typicalStepOffsetsMs(steps: readonly { delay: string }[]): number[] {
  let at = 0;
  return steps.map((s) => {
    const parsed = parseStepDelay(s.delay)!;
    at = parsed.kind === 'fixed' ? at + parsed.ms : Math.max(at, refillDays(null, parsed.leadMs / DAY) * DAY);
    return at;
  });
}
