/**
 * Multiple comparisons. A report that tests several guardrails (or several variants) at 0.05
 * each flags something by chance far more often than 5% of the time; Holm's step-down
 * correction keeps the chance of any false flag (the family-wise error rate) at or below α
 * under any dependence between the tests, and is never less powerful than Bonferroni.
 */

/**
 * Holm's adjusted p-values, in the order given: sort ascending, multiply the i-th smallest
 * (i from 0) by m − i, carry the running maximum so the adjusted values stay in the order of
 * the raw ones, cap at 1. A test is rejected at family-wise level α when its adjusted p < α.
 * NaN p-values (a test that could not be run) stay NaN and do not count in m.
 */
export function holm(pValues: readonly number[]): number[] {
  const order = pValues
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => !Number.isNaN(p))
    .sort((x, y) => x.p - y.p);
  for (const { p } of order) if (p < 0 || p > 1) throw new RangeError(`holm: p-value ${p} outside [0, 1]`);
  const m = order.length;
  const adjusted = pValues.map(() => NaN);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}
