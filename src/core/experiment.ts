/**
 * One arm of a sequence against another (the control variant or the holdout): revenue per
 * enrolled customer (Welch, and CUPED-adjusted), conversion rate (two proportions), the
 * incremental revenue against the holdout, and a verdict that never names a winner on a
 * sample too small to say.
 */
import { cuped, twoProportions, welch, type CupedResult, type PairedSample, type ProportionResult, type WelchResult } from './stats.ts';

/** What a comparison needs of each arm: the outcome moments and the converted count. */
export interface ArmOutcome extends PairedSample {
  arm: string;
  /** Enrolled customers with at least one order inside the window. */
  converted: number;
}

export type Verdict = 'not enough data yet' | 'better' | 'worse' | 'no clear difference';

export interface Comparison {
  arm: string;
  /** `control` (the first variant) or `holdout`. */
  against: 'control' | 'holdout';
  baseline: string;
  n: { arm: number; baseline: number };
  revenuePerCustomer: { arm: number; baseline: number } & Omit<WelchResult, 't'> & { t: number | null };
  /** The same difference, CUPED-adjusted with spend in the 90 days before enrolling. */
  cuped: Omit<CupedResult, 't'> & { t: number | null };
  conversionRate: { arm: number; baseline: number } & ProportionResult;
  /** Against the holdout only: (revenue per customer in the arm − in the holdout) × customers in the arm. */
  incrementalRevenue: { estimate: number; interval: [number, number]; cuped: { estimate: number; interval: [number, number] } } | null;
  verdict: Verdict;
  /** The reason of the verdict in a sentence, for people. */
  summary: string;
}

export interface CompareOptions {
  against: 'control' | 'holdout';
  /** Customers needed in each arm before a verdict; below it, "not enough data yet". */
  minSample: number;
  level?: number;
  /** Significance threshold of the verdict; default 1 − level. */
  alpha?: number;
}

const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);

export function compareArms(arm: ArmOutcome, baseline: ArmOutcome, options: CompareOptions): Comparison {
  const level = options.level ?? 0.95;
  const alpha = options.alpha ?? 1 - level;
  const revenue = welch(arm, baseline, level);
  const adjusted = cuped(arm, baseline, level);
  const conversion = twoProportions({ n: arm.n, successes: arm.converted }, { n: baseline.n, successes: baseline.converted }, level);
  const scale = (interval: [number, number]): [number, number] => [interval[0] * arm.n, interval[1] * arm.n];
  const incrementalRevenue =
    options.against === 'holdout'
      ? {
          estimate: revenue.difference * arm.n,
          interval: scale(revenue.interval),
          cuped: { estimate: adjusted.difference * arm.n, interval: scale(adjusted.interval) },
        }
      : null;

  let verdict: Verdict;
  let summary: string;
  const enough = Math.min(arm.n, baseline.n) >= options.minSample;
  if (!enough) {
    verdict = 'not enough data yet';
    summary = `${Math.min(arm.n, baseline.n)} of the ${options.minSample} customers per arm needed`;
  } else if (adjusted.pValue < alpha) {
    verdict = adjusted.difference > 0 ? 'better' : 'worse';
    summary = `${arm.arm} earns ${adjusted.difference > 0 ? 'more' : 'less'} per customer than ${baseline.arm} (p = ${formatP(adjusted.pValue)})`;
  } else {
    verdict = 'no clear difference';
    summary = `the interval includes no difference (p = ${formatP(adjusted.pValue)})`;
  }

  return {
    arm: arm.arm,
    against: options.against,
    baseline: baseline.arm,
    n: { arm: arm.n, baseline: baseline.n },
    revenuePerCustomer: { arm: arm.mean, baseline: baseline.mean, ...revenue, t: finite(revenue.t) },
    cuped: { ...adjusted, t: finite(adjusted.t) },
    conversionRate: { arm: arm.converted / arm.n, baseline: baseline.converted / baseline.n, ...conversion },
    incrementalRevenue,
    verdict,
    summary,
  };
}

function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}
