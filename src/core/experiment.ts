/**
 * One arm of a sequence against another (the control variant or the holdout): revenue per
 * enrolled customer (Welch, and CUPED-adjusted), conversion rate (two proportions), the
 * incremental revenue against the holdout, and a verdict that never names a winner on a
 * sample too small to say; then, per version, what turns those numbers into a decision:
 * Holm-adjusted p-values, guardrails and the sample-ratio check.
 *
 * The verdict is sequential: people open the report every day, and a fixed-horizon 95%
 * interval acted on the first day it excludes 0 names a false winner far more often than 5%
 * of the time. The verdict therefore reads the always-valid confidence sequence of the
 * CUPED difference (./sequential.ts), which may be looked at after every day's data; the
 * fixed-horizon interval, p-value and verdict stay beside it (`cuped`, `fixedHorizonVerdict`)
 * for the analyst who planned a sample size and reads the test once, at that size.
 *
 * An arm with no measured customer has no mean: its estimates are NaN (null in the JSON) and
 * the verdict is `no data`, never a difference against an invented $0.
 */
import type { KpiComparison } from './kpis.ts';
import { holm } from './multiple.ts';
import type { Effect } from './plan.ts';
import { daysToDetect, minimumDetectableEffect } from './power.ts';
import { guardrails as testGuardrails } from './decide.ts';
import { PLANNED_CUSTOMERS, sequentialMeans, sequentialProportions, type SequentialVerdict } from './sequential.ts';
import { sampleRatioMismatch } from './srm.ts';
import {
  combine,
  cuped,
  cupedSamples,
  twoProportions,
  welch,
  type CupedResult,
  type PairedSample,
  type ProportionResult,
  type WelchResult,
} from './stats.ts';

/** What a comparison needs of each arm: the outcome moments and the converted count. */
export interface ArmOutcome extends PairedSample {
  arm: string;
  /** Enrolled customers with at least one order inside the window. */
  converted: number;
  /** Customers enrolled per day lately (the last 14 days of the version); 0 or absent when enrollment has stopped. */
  perDay?: number;
}

/** The effect `daysToDetect` is asked about when none is chosen: 5% of the baseline's revenue per customer. */
export const DEFAULT_DETECT_EFFECT: Effect = { relative: 0.05 };

/**
 * Several arms taken as one (every variant together against the holdout: "does any email
 * earn more than none?"). The moments are those of the customers pooled, so an arm with
 * more customers weighs more, as it does in the shop's revenue.
 */
export function poolArms(name: string, arms: readonly ArmOutcome[]): ArmOutcome {
  const measured = arms.filter((a) => a.n > 0);
  const moments =
    measured.length > 0
      ? combine(measured)
      : { n: 0, mean: NaN, variance: NaN, covariateMean: NaN, covariateVariance: NaN, covariance: NaN };
  return {
    arm: name,
    ...moments,
    converted: arms.reduce((s, a) => s + a.converted, 0),
    perDay: arms.reduce((s, a) => s + (a.perDay ?? 0), 0),
  };
}

/** The sequential verdict, or why there is none. */
export type Verdict = 'no data' | 'not enough data yet' | SequentialVerdict | typeof SRM_VERDICT;

/** The verdict of the fixed-horizon test (CUPED p < α), read once at a planned sample size. */
export type FixedHorizonVerdict = 'no data' | 'not enough data yet' | 'better' | 'worse' | 'no clear difference';

/** Every comparison of a version whose arms are not in their planned proportions says this. */
export const SRM_VERDICT = 'sample ratio mismatch: check assignment';

/** False for the verdicts under which a comparison claims nothing about the difference. */
export function makesClaim(verdict: Verdict): boolean {
  return verdict !== 'no data' && verdict !== 'not enough data yet' && verdict !== SRM_VERDICT;
}

/** The planned sample of the confidence sequences (./sequential.ts says why it is fixed). */
export { PLANNED_CUSTOMERS };

/** The power of the minimum detectable effect. */
export const MDE_POWER = 0.8;

export type GuardrailMetric = 'unsubscribes' | 'complaints' | 'bounces';
export const GUARDRAIL_METRICS: readonly GuardrailMetric[] = ['unsubscribes', 'complaints', 'bounces'];

export interface GuardrailReport {
  metric: GuardrailMetric;
  /** Share of the arm's enrolled customers with at least one such event. */
  arm: number;
  baseline: number;
  /** arm − baseline */
  difference: number;
  /** One-sided p-value of "the arm's rate is higher" (worse). */
  pValue: number;
  /** Holm-adjusted across the comparison's guardrails. */
  adjustedPValue: number;
  /** adjustedPValue < 0.05: the arm makes this rate worse. */
  flagged: boolean;
}

export interface Comparison {
  /**
   * What is compared per customer: `revenue` (every entry of `comparisons`, and `anyEmail`)
   * or `margin` (the `margin` block each of them carries).
   */
  metric: ComparedMetric;
  arm: string;
  /** `control` (the first variant) or `holdout`. */
  against: 'control' | 'holdout';
  baseline: string;
  n: { arm: number; baseline: number };
  revenuePerCustomer: { arm: number; baseline: number } & Omit<WelchResult, 't'> & { t: number | null };
  /** The same difference, CUPED-adjusted with spend in the 90 days before enrolling (fixed horizon). */
  cuped: Omit<CupedResult, 't'> & { t: number | null };
  /** The conversion rates, their fixed-horizon test, and the always-valid 95% confidence sequence of the difference. */
  conversionRate: { arm: number; baseline: number } & ProportionResult & {
      sequential: { interval: [number, number]; verdict: SequentialVerdict };
    };
  /** Against the holdout only: (revenue per customer in the arm − in the holdout) × customers in the arm. */
  incrementalRevenue: { estimate: number; interval: [number, number]; cuped: { estimate: number; interval: [number, number] } } | null;
  /** The always-valid 95% confidence sequence of the CUPED difference, and what it says alone. */
  sequential: { interval: [number, number]; verdict: SequentialVerdict; plannedN: number };
  /** The smallest CUPED difference the fixed-horizon test detects with 80% power at the customers measured so far. */
  mde: { absolute: number; relative: number | null };
  /**
   * How many more days of enrollment at the recent rate until `effect` (the chosen effect on
   * revenue per customer, absolute; `relative` to the baseline) is detectable with 80% power;
   * 0 when it already is, null when it never will be at this rate (enrollment stopped) or
   * when there is no data to say. `customersNeeded`: the measured customers of both arms
   * together by then (null with `days`); with `n` it says how far along the test is.
   */
  daysToDetect: { effect: number; relative: number | null; days: number | null; customersNeeded: number | null };
  /** With `--winsorize`: the CUPED difference of revenue capped at the version's pooled percentile (the cap is on the version). */
  winsorized?: { difference: number; interval: [number, number]; pValue: number };
  /** The CUPED p-value, Holm-adjusted across the version's comparisons of the same kind (against the control, or the holdout). */
  adjustedPValue: number;
  /** Unsubscribe, complaint and bounce rates against the control; empty against the holdout, which gets no email. */
  guardrails: GuardrailReport[];
  /** The guardrails this arm makes worse; the verdict stays, this is said beside it. */
  flags: GuardrailMetric[];
  verdict: Verdict;
  fixedHorizonVerdict: FixedHorizonVerdict;
  /** The reason of the verdict in a sentence, for people. */
  summary: string;
  /** The offer KPIs of the arm against the baseline, with 95% intervals (src/core/kpis.ts); always set by the report. */
  kpis?: KpiComparison;
  /**
   * Gross margin per customer, compared as revenue is (`compareArms` on the margin's
   * moments, `metric: "margin"`): Welch, CUPED with the same pre-enrolment spend, the
   * always-valid interval and its verdict, Holm-adjusted across the version's margin
   * comparisons of the same kind. Set by the report; null when either arm's margin is
   * unknown. The comparison's own verdict stays on revenue: margin is said beside it.
   */
  margin?: MarginComparison | null;
}

export type ComparedMetric = 'revenue' | 'margin';

/**
 * Margin per customer of the arm against the baseline: Welch (`arm`, `baseline`,
 * `difference`, `interval`, `pValue`), `cuped`, the always-valid `sequential` interval and
 * the `verdict` and `summary` it gives, and the Holm-adjusted CUPED p-value.
 */
export type MarginComparison = Comparison['revenuePerCustomer'] &
  Pick<Comparison, 'cuped' | 'adjustedPValue' | 'verdict' | 'summary'> & {
    metric: 'margin';
    sequential: Pick<Comparison['sequential'], 'interval' | 'verdict'>;
  };

export interface CompareOptions {
  against: 'control' | 'holdout';
  /** Customers needed in each arm before a verdict; below it, "not enough data yet". */
  minSample: number;
  level?: number;
  /** Significance threshold of the verdict; default 1 − level. */
  alpha?: number;
  /** The planned customers (both arms) that tune the confidence sequence; default {@link PLANNED_CUSTOMERS}. */
  plannedN?: number;
  /** The effect `daysToDetect` answers for; default {@link DEFAULT_DETECT_EFFECT}. */
  detect?: Effect;
  /** What the arms' moments measure per customer: revenue (default) or margin; it names the comparison and words its summary. */
  metric?: ComparedMetric;
}

const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** An arm with no customer has no mean, variance or covariance: NaN, never 0. */
function orNoData(s: ArmOutcome): ArmOutcome {
  return s.n > 0 ? s : { ...s, mean: NaN, variance: NaN, covariateMean: NaN, covariateVariance: NaN, covariance: NaN };
}

export function compareArms(armIn: ArmOutcome, baselineIn: ArmOutcome, options: CompareOptions): Comparison {
  const arm = orNoData(armIn);
  const baseline = orNoData(baselineIn);
  const level = options.level ?? 0.95;
  const alpha = options.alpha ?? 1 - level;
  const plannedN = options.plannedN ?? PLANNED_CUSTOMERS;
  const metric = options.metric ?? 'revenue';
  const revenue = welch(arm, baseline, level);
  const adjusted = cuped(arm, baseline, level);
  const conversion = twoProportions({ n: arm.n, successes: arm.converted }, { n: baseline.n, successes: baseline.converted }, level);
  const [adjustedArm, adjustedBaseline] = cupedSamples(arm, baseline);
  const sequence = sequentialMeans(adjustedArm, adjustedBaseline, { plannedN, alpha });
  const conversionSequence = sequentialProportions(
    { n: arm.n, successes: arm.converted },
    { n: baseline.n, successes: baseline.converted },
    { plannedN, alpha },
  );
  const mde = minimumDetectableEffect(adjustedArm, { ...adjustedBaseline, mean: baseline.mean }, { alpha, power: MDE_POWER });
  const detect = options.detect ?? DEFAULT_DETECT_EFFECT;
  const effect = 'absolute' in detect ? detect.absolute : detect.relative * baseline.mean;
  // Measured customers grow at the enrollment rate once the first windows have closed: each
  // day, one more day's enrollments come out of their window.
  const wait =
    Number.isFinite(effect) && effect > 0 && arm.n > 1 && baseline.n > 1
      ? daysToDetect({ ...adjustedArm, perDay: arm.perDay ?? 0 }, { ...adjustedBaseline, perDay: baseline.perDay ?? 0 }, effect, {
          alpha,
          power: MDE_POWER,
        })
      : { wholeDays: NaN, customers: NaN };
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
  let fixedHorizonVerdict: FixedHorizonVerdict;
  let summary: string;
  const fewest = Math.min(arm.n, baseline.n);
  if (fewest === 0) {
    verdict = fixedHorizonVerdict = 'no data';
    summary = `${arm.n === 0 ? arm.arm : baseline.arm} has no measured customer yet: nothing to compare`;
  } else if (fewest < options.minSample) {
    verdict = fixedHorizonVerdict = 'not enough data yet';
    summary = `${fewest} of the ${options.minSample} customers per arm needed`;
  } else {
    fixedHorizonVerdict = adjusted.pValue < alpha ? (adjusted.difference > 0 ? 'better' : 'worse') : 'no clear difference';
    verdict = sequence.verdict;
    const fixed = `fixed-horizon ${pIs(adjusted.pValue)}`;
    summary =
      verdict === 'no clear difference yet'
        ? `the always-valid interval still includes no difference (${fixed})`
        : `${arm.arm} earns ${verdict === 'better' ? 'more' : 'less'}${metric === 'margin' ? ' margin' : ''} per customer than ${baseline.arm}: the always-valid interval excludes no difference (${fixed})`;
  }

  return {
    metric,
    arm: arm.arm,
    against: options.against,
    baseline: baseline.arm,
    n: { arm: arm.n, baseline: baseline.n },
    revenuePerCustomer: { arm: arm.mean, baseline: baseline.mean, ...revenue, t: finite(revenue.t) },
    cuped: { ...adjusted, t: finite(adjusted.t) },
    conversionRate: {
      arm: arm.converted / arm.n,
      baseline: baseline.converted / baseline.n,
      ...conversion,
      sequential: { interval: conversionSequence.interval, verdict: conversionSequence.verdict },
    },
    incrementalRevenue,
    sequential: { interval: sequence.interval, verdict: sequence.verdict, plannedN },
    mde: { absolute: mde.absolute, relative: mde.relative },
    daysToDetect: {
      effect: Number.isFinite(effect) ? effect : NaN,
      relative: baseline.mean > 0 && Number.isFinite(effect) ? effect / baseline.mean : null,
      days: Number.isFinite(wait.wholeDays) ? wait.wholeDays : null,
      customersNeeded: Number.isFinite(wait.wholeDays) && Number.isFinite(wait.customers) ? wait.customers : null,
    },
    adjustedPValue: adjusted.pValue,
    guardrails: [],
    flags: [],
    verdict,
    fixedHorizonVerdict,
    summary,
  };
}

/** Per arm, what the guardrails count: enrolled customers, and those with at least one of each event. */
export interface GuardrailCounts {
  n: number;
  unsubscribes: number;
  complaints: number;
  bounces: number;
}

export interface SrmCheck {
  pValue: number;
  /** pValue < 0.001: the arms' enrolled customers are not in the planned proportions. */
  flagged: boolean;
  arms: { arm: string; observed: number; expected: number }[];
}

/**
 * The sample-ratio check of a version: customers enrolled per arm (the holdout too) against
 * the planned weights, each variant's weight scaled to 1 − the holdout share and the holdout
 * at its share. An arm enrolled but not planned has weight 0, a mismatch by itself.
 */
export function srmCheck(
  plan: { variants: readonly { key: string; weight: number }[]; holdout: number },
  enrolled: ReadonlyMap<string, number>,
): SrmCheck {
  const total = plan.variants.reduce((s, v) => s + v.weight, 0);
  const weights = new Map(plan.variants.map((v) => [v.key, ((1 - plan.holdout) * v.weight) / total]));
  if (plan.holdout > 0) weights.set('holdout', plan.holdout);
  for (const arm of enrolled.keys()) if (!weights.has(arm)) weights.set(arm, 0);
  const result = sampleRatioMismatch([...weights].map(([arm, weight]) => ({ arm, weight, observed: enrolled.get(arm) ?? 0 })));
  return {
    pValue: result.pValue,
    flagged: result.mismatch,
    arms: result.arms.map((a) => ({ arm: a.arm, observed: a.observed, expected: a.expected })),
  };
}

/**
 * The decisions that need the whole version: Holm-adjusted p-values (across the comparisons
 * against the control, and separately across those against the holdout), the guardrails of
 * each variant against the control (one-sided "worse", Holm across the three), and the SRM
 * check, which overrules every verdict: when the split is broken, no comparison can be trusted.
 */
export function decideVersion(
  comparisons: readonly Comparison[],
  counts: ReadonlyMap<string, GuardrailCounts>,
  srm: SrmCheck,
  alpha = 0.05,
): Comparison[] {
  const adjusted = new Map<Comparison, number>();
  for (const against of ['control', 'holdout'] as const) {
    const family = comparisons.filter((c) => c.against === against);
    holm(family.map((c) => c.cuped.pValue)).forEach((p, i) => adjusted.set(family[i]!, p));
  }
  return comparisons.map((c) => {
    const arm = counts.get(c.arm);
    const baseline = counts.get(c.baseline);
    const rails =
      c.against === 'control' && arm && baseline
        ? testGuardrails(
            GUARDRAIL_METRICS.map((metric) => ({
              name: metric,
              variant: { n: arm.n, events: arm[metric] },
              control: { n: baseline.n, events: baseline[metric] },
            })),
            alpha,
          ).map((g): GuardrailReport => ({
            metric: g.name as GuardrailMetric,
            arm: g.variantRate,
            baseline: g.controlRate,
            difference: g.difference,
            pValue: g.pValue,
            adjustedPValue: g.adjustedPValue,
            flagged: g.worse,
          }))
        : [];
    const flags = rails.filter((g) => g.flagged).map((g) => g.metric);
    let { verdict, summary } = c;
    if (flags.length > 0) summary += `; guardrail: more ${flags.join(', ')} than ${c.baseline}`;
    if (srm.flagged) {
      verdict = SRM_VERDICT;
      summary = `the arms' customers are not in the planned proportions (${pIs(srm.pValue, 'SRM p')}): assignment is broken, no comparison can be trusted`;
    }
    return { ...c, adjustedPValue: adjusted.get(c) ?? NaN, guardrails: rails, flags, verdict, summary };
  });
}

/** A p-value as a phrase: `p = 0.042`, `p < 0.001` (never "p = < 0.001"), `p = —` when none; `name` replaces "p" (`Holm p`, `SRM p`). */
export function pIs(p: number, name = 'p'): string {
  return !Number.isFinite(p) ? `${name} = —` : p < 0.001 ? `${name} < 0.001` : `${name} = ${p.toFixed(3)}`;
}
