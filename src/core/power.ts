/**
 * Power, minimum detectable effect and sample size for the two-sided tests of stats.ts, by
 * the normal approximation. They answer the questions asked before and during a test: "what
 * is the smallest lift these numbers could show?", "how many customers per arm for a lift of
 * d?", "how many more days at today's enrollment?". A test that stops at "no clear
 * difference" with an MDE larger than any plausible effect was never able to say more; the
 * MDE is what makes that visible.
 *
 * With k = z(1 − α/2) + z(power), a difference d is detected with the given power when
 * d ≥ k · SE(d), so MDE = k · sqrt(σa²/na + σb²/nb). The far tail (a significant result in
 * the wrong direction) is ignored, as is usual; it is below α/2.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

export interface PowerOptions {
  /** Two-sided significance level; default 0.05. */
  alpha?: number;
  /** Probability of detecting the effect; default 0.8. */
  power?: number;
}

/** z(1 − α/2) + z(power): how many standard errors an effect must be to be detected. */
export function detectionMultiplier(options: PowerOptions = {}): number {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  return normalQuantile(1 - alpha / 2, 0, 1) + normalQuantile(power, 0, 1);
}

/** The power of the two-sided z-test at level α for a true difference `effect` with standard error `standardError`. */
export function powerOf(effect: number, standardError: number, alpha = 0.05): number {
  const z = normalQuantile(1 - alpha / 2, 0, 1);
  const shift = Math.abs(effect) / standardError;
  return normalCdf(shift - z, 0, 1) + normalCdf(-shift - z, 0, 1);
}

/** What a difference of means needs of each arm: its size and the variance of the outcome. */
export interface ArmSpread {
  n: number;
  variance: number;
}

export interface Mde {
  /** The smallest absolute difference detected with the requested power. */
  absolute: number;
  /** absolute / baseline mean, when a non-zero baseline mean was given. */
  relative: number | null;
  standardError: number;
}

/**
 * MDE of a − b for a difference of means at the arms' current sizes and variances:
 * (z(1 − α/2) + z(power)) · sqrt(σa²/na + σb²/nb). Pass b's mean to get it relative too.
 */
export function minimumDetectableEffect(a: ArmSpread, b: ArmSpread & { mean?: number }, options: PowerOptions = {}): Mde {
  const standardError = Math.sqrt(a.variance / a.n + b.variance / b.n);
  const absolute = detectionMultiplier(options) * standardError;
  return { absolute, relative: b.mean == null || b.mean === 0 ? null : absolute / Math.abs(b.mean), standardError };
}

/**
 * Customers needed in each arm (equal arms) to detect a difference of means `effect`:
 * n = (z(1 − α/2) + z(power))² · (σa² + σb²) / d², rounded up. Give one variance for both
 * arms, or the two (revenue usually spreads more in the arm that sells more).
 */
export function sampleSizePerArm(effect: number, variance: number | [number, number], options: PowerOptions = {}): number {
  const [va, vb] = typeof variance === 'number' ? [variance, variance] : variance;
  if (effect === 0) return Infinity;
  return Math.ceil((detectionMultiplier(options) ** 2 * (va + vb)) / effect ** 2);
}

/**
 * Customers per arm to detect a change of a rate from `baseline` to `baseline + effect`
 * with the two-proportion test (pooled under the null, unpooled under the alternative; the
 * textbook formula without continuity correction, as Fleiss):
 * n = (z(1 − α/2)·sqrt(2·p̄(1 − p̄)) + z(power)·sqrt(p1(1 − p1) + p2(1 − p2)))² / (p2 − p1)², p̄ = (p1 + p2)/2.
 */
export function proportionSampleSizePerArm(baseline: number, effect: number, options: PowerOptions = {}): number {
  if (effect === 0) return Infinity;
  return Math.ceil(proportionN(baseline, effect, options));
}

function proportionN(p1: number, effect: number, options: PowerOptions): number {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  const p2 = p1 + effect;
  const mid = (p1 + p2) / 2;
  const numerator =
    normalQuantile(1 - alpha / 2, 0, 1) * Math.sqrt(2 * mid * (1 - mid)) +
    normalQuantile(power, 0, 1) * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return numerator ** 2 / effect ** 2;
}

/**
 * The smallest increase of a rate over `baseline` that `nPerArm` customers in each arm
 * detect with the requested power: the effect at which {@link proportionSampleSizePerArm}'s
 * formula (before rounding) equals nPerArm, found by bisection. Returns absolute and relative
 * (to the baseline) effects; null when even a rate of 1 would not be detected.
 */
export function proportionMde(
  baseline: number,
  nPerArm: number,
  options: PowerOptions = {},
): { absolute: number; relative: number } | null {
  let high = 1 - baseline;
  if (!(high > 0) || proportionN(baseline, high, options) > nPerArm) return null;
  let low = 0;
  for (let i = 0; i < 200 && high - low > 1e-15; i++) {
    const mid = (low + high) / 2;
    if (proportionN(baseline, mid, options) > nPerArm) low = mid;
    else high = mid;
  }
  return { absolute: high, relative: baseline > 0 ? high / baseline : Infinity };
}

export interface EnrollingArm extends ArmSpread {
  /** New customers enrolled in this arm per day, at the current rate. */
  perDay: number;
}

/**
 * How many more days at the current enrollment rate until a difference of means `effect`
 * becomes detectable: the t ≥ 0 solving (z(1 − α/2) + z(power)) · sqrt(σa²/(na + ra·t) + σb²/(nb + rb·t)) = |d|,
 * assuming the variances stay as they are. `days` is that t (0 when already detectable),
 * `wholeDays` it rounded up; Infinity when no enrollment can get there. `customers` is how
 * many both arms then hold together (each arm's na + ra·t rounded up; today's when already
 * detectable), the sample the effect needs at this rate.
 */
export function daysToDetect(
  a: EnrollingArm,
  b: EnrollingArm,
  effect: number,
  options: PowerOptions = {},
): { days: number; wholeDays: number; customers: number } {
  const target = (effect / detectionMultiplier(options)) ** 2; // the variance of the difference needed
  const varianceAt = (t: number) => a.variance / (a.n + a.perDay * t) + b.variance / (b.n + b.perDay * t);
  const customersAt = (t: number) => Math.ceil(a.n + a.perDay * t - 1e-9) + Math.ceil(b.n + b.perDay * t - 1e-9);
  if (varianceAt(0) <= target) return { days: 0, wholeDays: 0, customers: a.n + b.n };
  // As t grows the variance falls to 0 only if every arm with spread keeps enrolling.
  const stuck = (arm: EnrollingArm) => arm.variance > 0 && !(arm.perDay > 0);
  if (stuck(a) || stuck(b) || effect === 0) return { days: Infinity, wholeDays: Infinity, customers: Infinity };
  let high = 1;
  while (varianceAt(high) > target) high *= 2;
  let low = 0;
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
    const mid = (low + high) / 2;
    if (varianceAt(mid) > target) low = mid;
    else high = mid;
  }
  return { days: high, wholeDays: Math.ceil(high - 1e-9), customers: customersAt(high) };
}
