/**
 * A comparison broken down by segment: within each value of a dimension (first-time or repeat
 * buyer, the RFM segment at enrollment, an attribute), each variant against its baseline on
 * revenue per measured customer, by Welch's t-test, with Holm's correction across every cell
 * of the breakdown together. Pure.
 *
 * Exploratory by construction: the experiment was sized for the whole population, a segment
 * has a fraction of it, and the cells were not chosen before the data were seen. A cell that
 * stands out after Holm is a question for the next test (target that segment), not a verdict;
 * the report labels every row so.
 */
import { holm } from './multiple.ts';
import { welch, type Sample } from './stats.ts';

/** One arm's measured customers within one value of one dimension. */
export interface CellSample extends Sample {
  dimension: string;
  value: string;
  arm: string;
}

export interface BreakdownPair {
  arm: string;
  baseline: string;
  against: 'control' | 'holdout';
}

export interface BreakdownRow {
  dimension: string;
  value: string;
  arm: string;
  baseline: string;
  against: 'control' | 'holdout';
  n: { arm: number; baseline: number };
  /** Revenue per customer, arm minus baseline, in the cell. */
  difference: number | null;
  /** Welch's 95% interval of the difference; null under `minPerCell` customers on a side. */
  interval: [number, number] | null;
  pValue: number | null;
  /** Holm-adjusted across every row with a p-value. */
  adjustedPValue: number | null;
  /** The adjusted p-value is under α: a lead for a targeted test, not a decision. */
  standsOut: boolean;
  exploratory: true;
}

/**
 * Every pair within every (dimension, value) both of whose arms have customers, in the order
 * of the dimensions, values and pairs as given. Cells with fewer than `minPerCell` customers
 * on a side get a difference but no test (and do not count in Holm's family).
 */
export function breakdown(
  cells: readonly CellSample[],
  pairs: readonly BreakdownPair[],
  options: { minPerCell?: number; alpha?: number } = {},
): BreakdownRow[] {
  const minPerCell = Math.max(2, options.minPerCell ?? 2);
  const alpha = options.alpha ?? 0.05;
  const key = (c: { dimension: string; value: string; arm: string }) => `${c.dimension}\u0000${c.value}\u0000${c.arm}`;
  const byKey = new Map(cells.map((c) => [key(c), c]));
  const groups: { dimension: string; value: string }[] = [];
  for (const c of cells)
    if (!groups.some((g) => g.dimension === c.dimension && g.value === c.value)) groups.push({ dimension: c.dimension, value: c.value });

  const rows: Omit<BreakdownRow, 'adjustedPValue' | 'standsOut'>[] = [];
  for (const g of groups)
    for (const pair of pairs) {
      const a = byKey.get(key({ ...g, arm: pair.arm }));
      const b = byKey.get(key({ ...g, arm: pair.baseline }));
      if (!a || !b || a.n === 0 || b.n === 0) continue;
      const tested = a.n >= minPerCell && b.n >= minPerCell;
      const w = tested ? welch(a, b) : undefined;
      const finite = w !== undefined && Number.isFinite(w.pValue);
      rows.push({
        ...g,
        ...pair,
        n: { arm: a.n, baseline: b.n },
        difference: a.mean - b.mean,
        interval: finite ? w.interval : null,
        pValue: finite ? w.pValue : null,
        exploratory: true,
      });
    }
  const adjusted = holm(rows.map((r) => r.pValue ?? NaN));
  return rows.map((r, i) => {
    const p = Number.isNaN(adjusted[i]!) ? null : adjusted[i]!;
    return { ...r, adjustedPValue: p, standsOut: p !== null && p < alpha };
  });
}
