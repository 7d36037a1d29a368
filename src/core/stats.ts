/**
 * The statistics of a variant comparison, on summaries rather than raw values, so the
 * database can reduce a million enrolled customers to a few numbers per arm:
 *
 * - Welch's t-test for a difference of means (revenue per enrolled customer), with its
 *   confidence interval; it does not assume equal variances, which revenue never has.
 * - The two-proportion z-test for a difference of rates (conversion): pooled standard
 *   error for the test, unpooled (Wald) for the interval, as R's `prop.test(correct = FALSE)`.
 * - CUPED (Deng et al., 2013): subtract θ·(x − x̄) from each customer's outcome, x being the
 *   spend before enrolling. Assignment is random, so x is independent of the arm and the
 *   estimate stays unbiased, while the variance shrinks by the share x explains.
 *
 * Distribution functions come from stdlib-js, which is tested against reference values.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** Size, mean and sample variance (n − 1 in the denominator) of one arm's outcome. */
export interface Sample {
  n: number;
  mean: number;
  variance: number;
}

/** A {@link Sample} of the outcome y with the covariate x beside it, for CUPED. */
export interface PairedSample extends Sample {
  covariateMean: number;
  covariateVariance: number;
  /** Sample covariance of outcome and covariate. */
  covariance: number;
}

export interface Difference {
  /** a − b */
  difference: number;
  /** (a − b) / b; null when b is 0. */
  relative: number | null;
  standardError: number;
  /** [low, high] of the two-sided interval at the requested level. */
  interval: [number, number];
  pValue: number;
}

export interface WelchResult extends Difference {
  t: number;
  degreesOfFreedom: number;
}

export interface ProportionResult extends Difference {
  /** The pooled z statistic of the test. */
  z: number;
}

export function summarize(values: readonly number[]): Sample {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, variance };
}

export function summarizePaired(y: readonly number[], x: readonly number[]): PairedSample {
  const outcome = summarize(y);
  const covariate = summarize(x);
  const covariance = y.length > 1 ? y.reduce((s, v, i) => s + (v - outcome.mean) * (x[i]! - covariate.mean), 0) / (y.length - 1) : 0;
  return { ...outcome, covariateMean: covariate.mean, covariateVariance: covariate.variance, covariance };
}

/**
 * The two-sided t interval of one sample's mean at `level`: mean ± t(n − 1) · s / √n, as
 * `scipy.stats.t.interval(level, n - 1, loc=mean, scale=s / sqrt(n))`. Null under two
 * values, where a spread cannot be estimated.
 */
export function meanInterval(sample: Sample, level = 0.95): [number, number] | null {
  if (!(sample.n >= 2) || !Number.isFinite(sample.mean) || !Number.isFinite(sample.variance)) return null;
  const margin = tQuantile(1 - (1 - level) / 2, sample.n - 1) * Math.sqrt(sample.variance / sample.n);
  return [sample.mean - margin, sample.mean + margin];
}

/** Welch's two-sample t-test of a − b, two-sided. Both samples need n ≥ 2. */
export function welch(a: Sample, b: Sample, level = 0.95): WelchResult {
  if (a.n < 2 || b.n < 2) return undefinedWelch(a.mean - b.mean, b.mean === 0 ? null : (a.mean - b.mean) / b.mean);
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const standardError = Math.sqrt(va + vb);
  const difference = a.mean - b.mean;
  const relative = b.mean === 0 ? null : difference / b.mean;
  if (standardError === 0) {
    // No spread at all: the difference is exact.
    return {
      difference,
      relative,
      standardError,
      interval: [difference, difference],
      pValue: difference === 0 ? 1 : 0,
      t: difference === 0 ? 0 : Math.sign(difference) * Infinity,
      degreesOfFreedom: a.n + b.n - 2,
    };
  }
  const degreesOfFreedom = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const t = difference / standardError;
  const pValue = Math.min(1, 2 * tCdf(-Math.abs(t), degreesOfFreedom));
  const margin = tQuantile(1 - (1 - level) / 2, degreesOfFreedom) * standardError;
  return { difference, relative, standardError, interval: [difference - margin, difference + margin], pValue, t, degreesOfFreedom };
}

/** What a test on fewer than two values per sample can say: the difference, and nothing about it. */
function undefinedWelch(difference: number, relative: number | null): WelchResult {
  return { difference, relative, standardError: NaN, interval: [NaN, NaN], pValue: NaN, t: NaN, degreesOfFreedom: NaN };
}

/** Two-proportion z-test of a − b (successes out of n in each), two-sided. */
export function twoProportions(a: { n: number; successes: number }, b: { n: number; successes: number }, level = 0.95): ProportionResult {
  const pa = a.successes / a.n;
  const pb = b.successes / b.n;
  const difference = pa - pb;
  const relative = pb === 0 ? null : difference / pb;
  const pooled = (a.successes + b.successes) / (a.n + b.n);
  const pooledError = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  const standardError = Math.sqrt((pa * (1 - pa)) / a.n + (pb * (1 - pb)) / b.n);
  const z = pooledError === 0 ? 0 : difference / pooledError;
  const pValue = pooledError === 0 ? 1 : Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1));
  const margin = normalQuantile(1 - (1 - level) / 2, 0, 1) * standardError;
  return { difference, relative, standardError, interval: [difference - margin, difference + margin], pValue, z };
}

/** Moments of several samples taken together, as if they were one. */
export function combine(all: readonly PairedSample[]): PairedSample {
  // A sample of none adds nothing; one of one adds its mean but no spread of its own.
  const samples = all.filter((a) => a.n > 0);
  const n = samples.reduce((s, a) => s + a.n, 0);
  const mean = samples.reduce((s, a) => s + a.n * a.mean, 0) / n;
  const covariateMean = samples.reduce((s, a) => s + a.n * a.covariateMean, 0) / n;
  const within = (pick: (a: PairedSample) => number, between: (a: PairedSample) => number) =>
    samples.reduce((s, a) => s + (a.n > 1 ? (a.n - 1) * pick(a) : 0) + a.n * between(a), 0) / (n - 1);
  return {
    n,
    mean,
    covariateMean,
    variance: within(
      (a) => a.variance,
      (a) => (a.mean - mean) ** 2,
    ),
    covariateVariance: within(
      (a) => a.covariateVariance,
      (a) => (a.covariateMean - covariateMean) ** 2,
    ),
    covariance: within(
      (a) => a.covariance,
      (a) => (a.mean - mean) * (a.covariateMean - covariateMean),
    ),
  };
}

export interface CupedResult extends WelchResult {
  /** The θ used: pooled Cov(y, x) / Var(x). */
  theta: number;
  /** 1 − adjusted variance / raw variance of the difference: how much narrower the interval is, squared. */
  varianceReduction: number;
}

/**
 * Each arm's outcome as CUPED sees it, y − θ(x − x̄) with θ and x̄ of both arms pooled: the
 * samples whose Welch test is {@link cuped}'s. The confidence sequence and the MDE use them.
 */
export function cupedSamples(a: PairedSample, b: PairedSample): [Sample, Sample] {
  return cupedAdjustment(a, b).samples;
}

/** θ (pooled covariance over pooled covariate variance) and both arms' adjusted samples. */
function cupedAdjustment(a: PairedSample, b: PairedSample): { theta: number; samples: [Sample, Sample] } {
  const pooled = combine([a, b]);
  const theta = pooled.covariateVariance > 0 ? pooled.covariance / pooled.covariateVariance : 0;
  const adjust = (s: PairedSample): Sample => ({
    n: s.n,
    mean: s.mean - theta * (s.covariateMean - pooled.covariateMean),
    variance: Math.max(0, s.variance - 2 * theta * s.covariance + theta ** 2 * s.covariateVariance),
  });
  return { theta, samples: [adjust(a), adjust(b)] };
}

/**
 * CUPED-adjusted Welch test of a − b. θ is estimated on both arms pooled; each arm's outcome
 * becomes y − θ(x − x̄), x̄ the pooled covariate mean, whose mean and variance follow from
 * the moments alone.
 */
export function cuped(a: PairedSample, b: PairedSample, level = 0.95): CupedResult {
  const { theta, samples } = cupedAdjustment(a, b);
  const adjusted = welch(...samples, level);
  const raw = a.variance / a.n + b.variance / b.n;
  // The relative difference keeps the unadjusted baseline: CUPED moves the difference, not the level.
  const relative = b.mean === 0 ? null : adjusted.difference / b.mean;
  return { ...adjusted, relative, theta, varianceReduction: raw > 0 ? 1 - adjusted.standardError ** 2 / raw : 0 };
}
