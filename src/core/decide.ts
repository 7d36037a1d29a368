/**
 * Two decisions around the comparison of arms:
 *
 * - Winsorising: revenue per customer is heavy-tailed (one wholesale buyer spends what a
 *   thousand others do), and a single such customer can swing a test. Capping every value at
 *   a high percentile of all arms pooled trades a small, known bias (the comparison is of
 *   capped means) for a much smaller variance. The cap is pooled, not per arm: a per-arm cap
 *   would itself differ between arms and manufacture a difference.
 * - Guardrails: rates that must not get worse (unsubscribes, complaints, bounces), each tested
 *   one-sided for "worse" and flagged after Holm's correction across the guardrails, so that
 *   watching five of them does not raise a false alarm five times as often.
 */
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { holm } from './multiple.ts';
import { summarize, twoProportions, type Sample } from './stats.ts';

/**
 * The q-th quantile (0 ≤ q ≤ 1) of the values with linear interpolation between order
 * statistics, NumPy's default (`numpy.percentile(v, 100q, method='linear')`): the value at
 * position (N − 1)·q of the sorted values.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (position - below) * (sorted[above]! - sorted[below]!);
}

export interface Winsorized<K extends string> {
  /** The cap: the pooled quantile of all arms' values. */
  cap: number;
  /** Each arm's summary of min(value, cap). */
  samples: Record<K, Sample>;
  /** Values that were capped, per arm. */
  capped: Record<K, number>;
}

/**
 * Caps per-customer values at the `q` quantile (default 0.99) of all arms' values pooled and
 * summarises each arm's capped values. Only the upper tail is capped: revenue is bounded below
 * by 0. What the resulting interval covers is the difference of the arms' means of
 * min(X, c), c being the population quantile the pooled sample quantile estimates.
 */
export function winsorize<K extends string>(arms: Readonly<Record<K, readonly number[]>>, q = 0.99): Winsorized<K> {
  const keys = Object.keys(arms) as K[];
  const cap = quantile(
    keys.flatMap((k) => arms[k]),
    q,
  );
  const samples = {} as Record<K, Sample>;
  const capped = {} as Record<K, number>;
  for (const k of keys) {
    const values = arms[k];
    samples[k] = summarize(values.map((v) => Math.min(v, cap)));
    capped[k] = values.reduce((s, v) => s + (v > cap ? 1 : 0), 0);
  }
  return { cap, samples, capped };
}

/** One guardrail rate of a variant and of the control: events (unsubscribes, complaints, bounces) among n. */
export interface GuardrailInput {
  name: string;
  variant: { n: number; events: number };
  control: { n: number; events: number };
}

export interface GuardrailResult {
  name: string;
  variantRate: number;
  controlRate: number;
  /** variant − control */
  difference: number;
  /** The pooled z of the two-proportion test; positive when the variant's rate is higher. */
  z: number;
  /** One-sided p-value of "the variant's rate is higher" (worse). */
  pValue: number;
  /** Holm-adjusted across the guardrails given together. */
  adjustedPValue: number;
  /** adjustedPValue < alpha: the variant makes this rate worse. */
  worse: boolean;
}

/**
 * Tests each guardrail one-sided for "the variant's rate is higher than the control's", with
 * the pooled z of {@link twoProportions} (p = 1 − Φ(z)), and flags it when its Holm-adjusted
 * p-value across all the guardrails given is below `alpha` (default 0.05). One-sided because
 * only harm stops a variant; a guardrail that improves is not news to act on.
 */
export function guardrails(inputs: readonly GuardrailInput[], alpha = 0.05): GuardrailResult[] {
  const tests = inputs.map((g) => {
    const r = twoProportions({ n: g.variant.n, successes: g.variant.events }, { n: g.control.n, successes: g.control.events });
    const untestable = !(g.variant.n > 0 && g.control.n > 0);
    return { g, r, pValue: untestable ? NaN : normalCdf(-r.z, 0, 1) };
  });
  const adjusted = holm(tests.map((t) => t.pValue));
  return tests.map(({ g, r, pValue }, i) => ({
    name: g.name,
    variantRate: g.variant.events / g.variant.n,
    controlRate: g.control.events / g.control.n,
    difference: r.difference,
    z: r.z,
    pValue,
    adjustedPValue: adjusted[i]!,
    worse: adjusted[i]! < alpha,
  }));
}
