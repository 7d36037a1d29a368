/**
 * What the demo plants, and whether the report finds it: the closing lines of `npm start`
 * and what its test asserts. Three comparisons are planted in the starter sequences:
 *
 * - a difference: in post-purchase, the control (co-purchase) shows the accessory of the
 *   same model line as what was bought (the planted truth of the shop), which readers click
 *   far more often than the best-sellers the challenger shows, so best-sellers earns less;
 * - a discount: in post-purchase, the control's emails with a 25% code in each; readers
 *   open, click and buy more, so revenue rises, and every such order gives up a quarter of
 *   its price, so margin falls: more revenue, less profit;
 * - a null: in replenish, the short email offers the very same products as the full one,
 *   and the simulated readers react to products, never to copy, so neither earns more.
 *
 * For each, the truth (from the expected worth of the emails the measured customers got,
 * ./truth.ts) beside the report's sequential verdict, the chance this size had of finding the
 * truth (the power of the always-valid test at this look), and the smallest difference it
 * could have found; for the discount, the same of margin per customer.
 */
import type { Report } from '../analytics/report.ts';
import type { Comparison, Verdict } from '../core/experiment.ts';
import { sequentialMde, sequentialPower } from '../core/sequential.ts';
import type { TruthCheck } from './truth.ts';

export interface Planted {
  kind: 'difference' | 'discount' | 'null';
  sequence: string;
  /** The variant compared with its sequence's control. */
  arm: string;
  /** What the report should come to say of revenue per customer, given the size to find it. */
  expect: Extract<Verdict, 'better' | 'worse' | 'no clear difference yet'>;
  /** The planted cause, in a sentence. */
  why: string;
}

export const PLANTED: readonly Planted[] = [
  {
    kind: 'difference',
    sequence: 'post-purchase',
    arm: 'best-sellers',
    expect: 'worse',
    why: 'the control shows the accessory of the model line the customer bought, which readers click far more often than best-sellers',
  },
  {
    kind: 'discount',
    sequence: 'post-purchase',
    arm: 'co-purchase-25off',
    expect: 'better',
    why: "the control's emails with a 25% code: 60% of readers open them (45% without), click offers 1.3 times as often, buy 95% of what they click (75%) and complete the set 80% of the time (60%); each such order gives up a quarter of its price",
  },
  {
    kind: 'null',
    sequence: 'replenish',
    arm: 'short-reminder',
    expect: 'no clear difference yet',
    why: 'it offers the same products as the full email, and readers react to products, not to copy',
  },
];

/** One measure of a planted comparison as the report sees it. */
export interface PlantedMeasure {
  /** The planted difference per customer (arm − control) over the measured customers. */
  truth: number;
  /** The report's CUPED estimate and its always-valid 95% interval. */
  estimate: number;
  interval: [number, number];
  verdict: Comparison['verdict'];
  /** The chance the always-valid test finds a difference of `truth` at this look. */
  power: number;
  /** The smallest difference the always-valid test finds with 80% power at this look. */
  detectable: number;
}

export interface PlantedFinding extends Planted, PlantedMeasure {
  baseline: string;
  /** The report's verdict on revenue is the expected one. */
  asPlanted: boolean;
  /** Margin per customer the same way; null when the report has no margin for the comparison. */
  margin: PlantedMeasure | null;
}

/** Each planted comparison as the report sees it; absent when its sequence is not in the report (a demo run on other files). */
export function plantedFindings(report: Report, checks: readonly TruthCheck[]): PlantedFinding[] {
  return PLANTED.flatMap((planted): PlantedFinding[] => {
    const version = report.sequences.find((s) => s.id === planted.sequence)?.versions.find((v) => v.live);
    const comparison = version?.comparisons.find((c) => c.arm === planted.arm && c.against === 'control');
    const check = checks.find((c) => c.sequence === planted.sequence && c.arm === planted.arm && c.against === 'control');
    if (!comparison || !check) return [];
    const n = comparison.n.arm + comparison.n.baseline;
    const options = { plannedN: comparison.sequential.plannedN };
    const measure = (truth: number, c: Pick<Comparison, 'cuped' | 'verdict'>, interval: [number, number]): PlantedMeasure => ({
      truth,
      estimate: c.cuped.difference,
      interval,
      verdict: c.verdict,
      power: sequentialPower(truth, c.cuped.standardError, n, options),
      detectable: sequentialMde(c.cuped.standardError, n, options),
    });
    const m = comparison.margin;
    return [
      {
        ...planted,
        baseline: comparison.baseline,
        ...measure(check.truth, comparison, comparison.sequential.interval),
        asPlanted: comparison.verdict === planted.expect,
        margin: m && check.margin ? measure(check.margin.truth, m, m.sequential.interval) : null,
      },
    ];
  });
}
