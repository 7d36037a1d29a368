/**
 * Ratio metrics by the delta method: average order value (revenue / orders), items per order,
 * revenue per order. The unit of randomisation is the customer, not the order, so a ratio is
 * mean(X) / mean(Y) over customers, X and Y being each customer's sums (revenue, orders).
 * Treating orders as independent would ignore that one customer's orders move together and
 * give intervals that are too narrow; the delta method keeps the customer as the unit.
 *
 * Inputs are per-unit sums (Σx, Σy, Σx², Σy², Σxy over n customers), which a database
 * computes in one pass. Variances and the covariance use n − 1 in the denominator, like
 * {@link Sample}. With very large sums of squares the moments lose digits to cancellation;
 * revenue in currency units over millions of customers stays well within float64.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

/** One arm's per-customer sums of numerator X and denominator Y. */
export interface RatioSums {
  n: number;
  sumX: number;
  sumY: number;
  sumXX: number;
  sumYY: number;
  sumXY: number;
}

export interface RatioEstimate {
  n: number;
  meanX: number;
  meanY: number;
  /** mean(X) / mean(Y); NaN when mean(Y) is 0. */
  ratio: number;
  /** Delta-method variance of the ratio. */
  variance: number;
  standardError: number;
}

export interface RatioDifference {
  /** ratio(a) − ratio(b) */
  difference: number;
  standardError: number;
  interval: [number, number];
  /** Two-sided normal p-value of "no difference". */
  pValue: number;
  z: number;
  /** ratio(a) / ratio(b) − 1; null when ratio(b) is 0 or undefined. */
  relative: number | null;
  relativeStandardError: number | null;
  relativeInterval: [number, number] | null;
}

/** The sums of X and Y over units, for tests and for callers that hold raw per-customer values. */
export function ratioSums(x: readonly number[], y: readonly number[]): RatioSums {
  if (x.length !== y.length) throw new RangeError(`ratioSums: ${x.length} numerators for ${y.length} denominators`);
  let sumX = 0;
  let sumY = 0;
  let sumXX = 0;
  let sumYY = 0;
  let sumXY = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const yi = y[i]!;
    sumX += xi;
    sumY += yi;
    sumXX += xi * xi;
    sumYY += yi * yi;
    sumXY += xi * yi;
  }
  return { n: x.length, sumX, sumY, sumXX, sumYY, sumXY };
}

/**
 * The ratio mean(X)/mean(Y) of one arm and its delta-method variance
 * Var ≈ (1/n)·(σx²/μy² − 2·μx·σxy/μy³ + μx²·σy²/μy⁴), the first-order Taylor expansion of
 * x̄/ȳ around (μx, μy). Needs n ≥ 2 and mean(Y) ≠ 0; otherwise the variance is NaN.
 */
export function ratioEstimate(s: RatioSums): RatioEstimate {
  const { n } = s;
  const meanX = s.sumX / n;
  const meanY = s.sumY / n;
  const ratio = meanY === 0 ? NaN : meanX / meanY;
  if (n < 2 || meanY === 0) return { n, meanX, meanY, ratio, variance: NaN, standardError: NaN };
  const varX = Math.max(0, (s.sumXX - n * meanX * meanX) / (n - 1));
  const varY = Math.max(0, (s.sumYY - n * meanY * meanY) / (n - 1));
  const covXY = (s.sumXY - n * meanX * meanY) / (n - 1);
  const variance = Math.max(0, (varX / meanY ** 2 - (2 * meanX * covXY) / meanY ** 3 + (meanX ** 2 * varY) / meanY ** 4) / n);
  return { n, meanX, meanY, ratio, variance, standardError: Math.sqrt(variance) };
}

/**
 * ratio(a) − ratio(b) with a normal interval on the two arms' delta-method variances added
 * (the arms are independent: Welch-like, no equal-variance assumption), and the relative
 * difference ratio(a)/ratio(b) − 1 with its own delta-method interval,
 * Var ≈ Var(Ra)/Rb² + Ra²·Var(Rb)/Rb⁴. A normal rather than a t quantile: the delta method
 * is itself a large-sample approximation, and there is no honest degrees of freedom for it.
 */
export function ratioDifference(a: RatioSums, b: RatioSums, level = 0.95): RatioDifference {
  const ra = ratioEstimate(a);
  const rb = ratioEstimate(b);
  const difference = ra.ratio - rb.ratio;
  const standardError = Math.sqrt(ra.variance + rb.variance);
  const q = normalQuantile(1 - (1 - level) / 2, 0, 1);
  const z = standardError > 0 ? difference / standardError : difference === 0 ? 0 : Math.sign(difference) * Infinity;
  const pValue = Number.isNaN(z) ? NaN : Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1));
  const relativeDefined = Number.isFinite(rb.ratio) && rb.ratio !== 0 && Number.isFinite(ra.ratio);
  const relative = relativeDefined ? ra.ratio / rb.ratio - 1 : null;
  const relativeStandardError = relativeDefined
    ? Math.sqrt(ra.variance / rb.ratio ** 2 + (ra.ratio ** 2 * rb.variance) / rb.ratio ** 4)
    : null;
  return {
    difference,
    standardError,
    interval: [difference - q * standardError, difference + q * standardError],
    pValue,
    z,
    relative,
    relativeStandardError,
    relativeInterval:
      relative === null || relativeStandardError === null
        ? null
        : [relative - q * relativeStandardError, relative + q * relativeStandardError],
  };
}
