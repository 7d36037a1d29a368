/**
 * Sample-ratio mismatch: are the customers enrolled in each arm (holdout included) in the
 * proportions the sequence planned? A mismatch means assignment or enrollment is broken for
 * some customers (a filter applied to one arm only, a bot wave, a crashed sender), and then
 * no comparison of the arms can be trusted, however significant it looks. The check is
 * Pearson's chi-square goodness of fit, flagged at a strict p < 0.001 because it runs on
 * every report and a false alarm stops people trusting it.
 *
 * The chi-square survival function is the regularized upper incomplete gamma function
 * Q(k/2, x/2), written here (series and Lentz continued fraction, as in Numerical Recipes
 * §6.2, and a Lanczos log-gamma) because no stdlib-js chi-square package is a dependency.
 */

/** ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms); about 15 significant digits. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x); // reflection
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < c.length; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const EPSILON = 1e-15;
const TINY = 1e-300;

/**
 * The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), a > 0, x ≥ 0.
 * Below x = a + 1 the series of P converges fast and Q = 1 − P is not small; above it the
 * continued fraction gives Q directly, with its relative precision even far in the tail.
 */
export function upperGammaRegularized(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < 10_000; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
    }
    return Math.max(0, 1 - sum * front);
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return front * h;
}

/** P(χ²_k > x): the chi-square survival function with k degrees of freedom. */
export function chiSquareSurvival(x: number, degreesOfFreedom: number): number {
  return upperGammaRegularized(degreesOfFreedom / 2, Math.max(0, x) / 2);
}

export interface SrmArm {
  arm: string;
  /** Customers enrolled in the arm. */
  observed: number;
  /** Planned weight of the arm, in any unit (shares, percentages); normalized over all arms. */
  weight: number;
}

export interface SrmResult {
  chiSquare: number;
  degreesOfFreedom: number;
  pValue: number;
  /** pValue < threshold: the arms' counts are not what the planned weights give. */
  mismatch: boolean;
  threshold: number;
  arms: { arm: string; observed: number; expected: number; observedShare: number; plannedShare: number }[];
}

/**
 * Pearson's chi-square test of the observed counts against total × planned share, with
 * k − 1 degrees of freedom (k arms with a positive weight). Every arm must be listed,
 * the holdout too: leaving one out hides exactly the imbalance the check is for. An arm
 * with weight 0 and customers in it is a mismatch by itself (its expected count is 0).
 */
export function sampleRatioMismatch(arms: readonly SrmArm[], threshold = 0.001): SrmResult {
  const total = arms.reduce((s, a) => s + a.observed, 0);
  const weights = arms.reduce((s, a) => s + a.weight, 0);
  if (!(weights > 0)) throw new RangeError('sampleRatioMismatch: the planned weights must add up to more than 0');
  const rows = arms.map((a) => ({
    arm: a.arm,
    observed: a.observed,
    expected: (total * a.weight) / weights,
    observedShare: total > 0 ? a.observed / total : 0,
    plannedShare: a.weight / weights,
  }));
  const planned = rows.filter((r) => r.plannedShare > 0);
  const unplanned = rows.some((r) => r.plannedShare === 0 && r.observed > 0);
  const chiSquare = unplanned
    ? Infinity
    : planned.reduce((s, r) => s + (r.expected > 0 ? (r.observed - r.expected) ** 2 / r.expected : 0), 0);
  const degreesOfFreedom = planned.length - 1;
  const pValue = unplanned ? 0 : total === 0 || degreesOfFreedom < 1 ? 1 : chiSquareSurvival(chiSquare, degreesOfFreedom);
  return { chiSquare, degreesOfFreedom, pValue, mismatch: pValue < threshold, threshold, arms: rows };
}
