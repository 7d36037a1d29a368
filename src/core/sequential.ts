/**
 * Always-valid confidence sequences, for a report that people open every day. A fixed-horizon
 * interval at 95% is right once, at the sample size planned; looked at daily and acted on the
 * first day it excludes 0, it names a false winner far more often than 5% of the time. A
 * confidence sequence is a band that holds at every look at once: the chance that it ever
 * excludes the truth, over the whole test, is at most α. The price is a wider band.
 *
 * This is the asymptotic confidence sequence of Waudby-Smith et al., "Time-uniform central
 * limit theory and asymptotic confidence sequences" (2021), built on the normal mixture of
 * Howard et al. (2021), as GrowthBook uses for its sequential testing. For an estimate with
 * standard error se from n units (σ̂ = se·√n the per-unit spread), the half-width is
 *
 *   se · √n · sqrt( 2(nρ² + 1) / (n²ρ²) · ln( sqrt(nρ² + 1) / α ) )
 *
 * with ρ tuned so the band is narrowest at a planned n*: ρ = sqrt((−2 ln α + ln(−2 ln α + 1)) / n*).
 * The guarantee is asymptotic (the estimate must be close to normal: not for a handful of
 * customers), and it holds whatever the planned n* is; n* only moves where the band is tightest.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { twoProportions, welch, type Sample } from './stats.ts';

export type SequentialVerdict = 'better' | 'worse' | 'no clear difference yet';

/** The mixture tuning ρ that makes the band tightest at `plannedN` units. */
export function tuningRho(plannedN: number, alpha = 0.05): number {
  const l = -2 * Math.log(alpha);
  return Math.sqrt((l + Math.log(l + 1)) / plannedN);
}

/** The half-width of the confidence sequence at n units, for an estimate with standard error `standardError`. */
export function confidenceSequenceHalfWidth(standardError: number, n: number, alpha: number, rho: number): number {
  const r2 = rho * rho;
  return standardError * Math.sqrt(n) * Math.sqrt(((2 * (n * r2 + 1)) / (n * n * r2)) * Math.log(Math.sqrt(n * r2 + 1) / alpha));
}

export interface SequentialOptions {
  /** The units (customers in both arms together) at which the band should be tightest, usually the planned sample. */
  plannedN: number;
  /** The chance of the band ever missing the truth; default 0.05. */
  alpha?: number;
}

export interface SequentialResult {
  /** a − b */
  difference: number;
  standardError: number;
  /** The always-valid interval at this look. */
  interval: [number, number];
  halfWidth: number;
  /** Units counted: customers in both arms. */
  n: number;
  rho: number;
  alpha: number;
  /** 'better' when the band lies above 0, 'worse' below, otherwise 'no clear difference yet'. */
  verdict: SequentialVerdict;
}

/**
 * The planned sample (customers in both arms together) at which the report's confidence
 * sequences are tightest. It is a constant, fixed before any data is seen, on purpose: the
 * band is valid over every look only if its mixture (ρ) stays the same from look to look, so
 * ρ must not follow the enrollment so far. 10,000 customers is the size of a typical
 * post-purchase test (a few weeks of a mid-sized shop's orders); a test much smaller or
 * larger still gets a valid band, only a little wider than the best one at its size.
 */
export const PLANNED_CUSTOMERS = 10_000;

/**
 * The confidence sequence of any asymptotically normal difference (a delta-method ratio, a
 * difference of shares or means) from its estimate, its standard error and the units behind it.
 */
export function sequentialDifference(difference: number, standardError: number, n: number, options: SequentialOptions): SequentialResult {
  const alpha = options.alpha ?? 0.05;
  const rho = tuningRho(options.plannedN, alpha);
  const halfWidth = standardError === 0 ? 0 : confidenceSequenceHalfWidth(standardError, n, alpha, rho);
  const interval: [number, number] = [difference - halfWidth, difference + halfWidth];
  // NaN bounds (too few customers for a spread) compare false both ways: no verdict.
  const verdict: SequentialVerdict = interval[0] > 0 ? 'better' : interval[1] < 0 ? 'worse' : 'no clear difference yet';
  return { difference, standardError, interval, halfWidth, n, rho, alpha, verdict };
}

/**
 * The confidence sequence of a difference of means a − b (revenue per customer), from the
 * arms' summaries: Welch's difference and unpooled standard error, n = na + nb. It may be
 * looked at after every day's data; stopping the first time it excludes 0 keeps the false
 * winner rate at or below α.
 */
export function sequentialMeans(a: Sample, b: Sample, options: SequentialOptions): SequentialResult {
  const w = welch(a, b);
  return sequentialDifference(w.difference, w.standardError, a.n + b.n, options);
}

/** The confidence sequence of a difference of rates a − b (conversion), with the unpooled standard error. */
export function sequentialProportions(
  a: { n: number; successes: number },
  b: { n: number; successes: number },
  options: SequentialOptions,
): SequentialResult {
  const r = twoProportions(a, b);
  return sequentialDifference(r.difference, r.standardError, a.n + b.n, options);
}

/**
 * The chance that the confidence sequence read at n units excludes no difference when the
 * true difference is `effect`: Φ((|d| − h)/se) + Φ((−|d| − h)/se), h the band's half-width
 * there. It is the power of this one look; looks before it can only add to it.
 */
export function sequentialPower(effect: number, standardError: number, n: number, options: SequentialOptions): number {
  const alpha = options.alpha ?? 0.05;
  const h = confidenceSequenceHalfWidth(standardError, n, alpha, tuningRho(options.plannedN, alpha));
  const d = Math.abs(effect);
  return normalCdf((d - h) / standardError, 0, 1) + normalCdf((-d - h) / standardError, 0, 1);
}

/**
 * The smallest difference the confidence sequence read at n units detects with `power`
 * (default 0.8): h + z(power)·se, the far side ignored as in ./power.ts.
 */
export function sequentialMde(standardError: number, n: number, options: SequentialOptions & { power?: number }): number {
  const alpha = options.alpha ?? 0.05;
  const h = confidenceSequenceHalfWidth(standardError, n, alpha, tuningRho(options.plannedN, alpha));
  return h + normalQuantile(options.power ?? 0.8, 0, 1) * standardError;
}
