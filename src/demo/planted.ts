/**
 * What the demo plants, and whether the report finds it: the closing lines of `npm start`
 * and what its test asserts. Two comparisons are planted in the starter sequences:
 *
 * - a winner: in post-purchase, the co-purchase challenger shows the accessory of the same
 *   model line as what was bought (the planted truth of the shop), which readers click far
 *   more often than the control's best-sellers, so it earns more per customer;
 * - a null: in replenish, the short email offers the very same products as the full one,
 *   and the simulated readers react to products, never to copy, so neither earns more.
 *
 * For each, the truth (from the expected worth of the emails the measured customers got,
 * ./truth.ts) beside the report's sequential verdict, the chance this size had of finding the
 * truth (the power of the always-valid test at this look), and for the null the smallest
 * difference it could have found.
 */
import type { Report } from '../analytics/report.ts';
import type { Comparison } from '../core/experiment.ts';
import { sequentialMde, sequentialPower } from '../core/sequential.ts';
import type { TruthCheck } from './truth.ts';

export interface Planted {
  kind: 'winner' | 'null';
  sequence: string;
  /** The variant compared with its sequence's control. */
  arm: string;
  /** The planted cause, in a sentence. */
  why: string;
}

export const PLANTED: readonly Planted[] = [
  {
    kind: 'winner',
    sequence: 'post-purchase',
    arm: 'co-purchase',
    why: 'it shows the accessory of the model line the customer bought, which readers click far more often than best-sellers',
  },
  {
    kind: 'null',
    sequence: 'replenish',
    arm: 'short-reminder',
    why: 'it offers the same products as the full email, and readers react to products, not to copy',
  },
];

export interface PlantedFinding extends Planted {
  baseline: string;
  /** The planted difference in revenue per customer (arm − control) over the measured customers. */
  truth: number;
  /** The report's CUPED estimate and its always-valid 95% interval. */
  estimate: number;
  interval: [number, number];
  verdict: Comparison['verdict'];
  /** The chance the always-valid test finds a difference of `truth` at this look. */
  power: number;
  /** The smallest difference the always-valid test finds with 80% power at this look. */
  detectable: number;
  /** A winner found better, or a null kept: no verdict of better or worse. */
  asPlanted: boolean;
}

/** Each planted comparison as the report sees it; absent when its sequence is not in the report (a demo run on other files). */
export function plantedFindings(report: Report, checks: readonly TruthCheck[]): PlantedFinding[] {
  return PLANTED.flatMap((planted): PlantedFinding[] => {
    const version = report.sequences.find((s) => s.id === planted.sequence)?.versions.find((v) => v.live);
    const comparison = version?.comparisons.find((c) => c.arm === planted.arm && c.against === 'control');
    const check = checks.find((c) => c.sequence === planted.sequence && c.arm === planted.arm && c.against === 'control');
    if (!comparison || !check) return [];
    const n = comparison.n.arm + comparison.n.baseline;
    const se = comparison.cuped.standardError;
    const options = { plannedN: comparison.sequential.plannedN };
    const verdict = comparison.verdict;
    return [
      {
        ...planted,
        baseline: comparison.baseline,
        truth: check.truth,
        estimate: comparison.cuped.difference,
        interval: comparison.sequential.interval,
        verdict,
        power: sequentialPower(check.truth, se, n, options),
        detectable: sequentialMde(se, n, options),
        asPlanted: planted.kind === 'winner' ? verdict === 'better' : verdict === 'no clear difference yet',
      },
    ];
  });
}
