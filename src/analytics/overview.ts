/**
 * The overview's one line per sequence, from the report (pure): what the dashboard's table
 * shows and what its CSV export holds, so the two never differ. Each headline figure carries
 * its interval and verdict, or says why it has none.
 */
import { makesClaim, type Comparison } from '../core/experiment.ts';
import { pooledKpis } from '../core/kpis.ts';
import { evidentWinner } from '../core/promote.ts';
import type { Report, SequenceReport, VersionReport } from './report.ts';

export interface SequenceSummary {
  id: string;
  name: string;
  status: string;
  /** The live version's number. */
  version: number | null;
  /** Customers enrolled in the live version over the period (the holdout's too). */
  customersEnrolled: number;
  /** Of them, those whose measurement window has closed. */
  customersMeasured: number;
  /** Emails sent by the live version's variants. */
  emailsSent: number;
  ordersAttributed: number;
  attributedRevenue: number;
  /**
   * The revenue the emails add: every variant pooled against the holdout (or the one
   * variant's comparison with it), CUPED-adjusted, with its 95% interval and verdict; null
   * with the reason when it cannot be measured.
   */
  incremental: { estimate: number; interval: [number, number]; verdict: string; claims: boolean } | null;
  /** Why `incremental` is null or makes no claim, in words. */
  incrementalNote: string | null;
  /** The variant the evidence names the winner, or null. */
  winner: string | null;
  /** Offer acceptance and order value of the variants pooled, the holdout's beside. */
  acceptance: number | null;
  acceptanceHoldout: number | null;
  aov: number | null;
  aovHoldout: number | null;
}

const sum = <T>(items: readonly T[], pick: (item: T) => number) => items.reduce((total, item) => total + pick(item), 0);

/** The comparison that says what the emails add: any email against the holdout, or the single variant's. */
function againstHoldout(live: VersionReport): Comparison | undefined {
  return live.anyEmail ?? live.comparisons.find((c) => c.against === 'holdout');
}

function summarise(s: SequenceReport, minSample: number): SequenceSummary {
  const live = s.versions.find((v) => v.live) ?? s.versions[0];
  const arms = live?.arms ?? [];
  const variants = arms.filter((a) => !a.holdout);
  const holdoutArms = arms.filter((a) => a.holdout);
  const c = live ? againstHoldout(live) : undefined;
  const cuped = c?.incrementalRevenue?.cuped;
  let incrementalNote: string | null = null;
  if (!live) incrementalNote = 'no version yet';
  else if (holdoutArms.length === 0) incrementalNote = 'no holdout: what the emails add cannot be measured';
  else if (!c || !cuped) incrementalNote = 'nothing to compare yet';
  else if (!makesClaim(c.verdict)) incrementalNote = `${c.verdict}: ${c.summary}`;
  const treated = pooledKpis(variants.map((a) => a.kpis));
  const held = pooledKpis(holdoutArms.map((a) => a.kpis));
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    version: live?.version ?? null,
    customersEnrolled: sum(arms, (a) => a.enrolled),
    customersMeasured: sum(arms, (a) => a.measured.customers),
    emailsSent: sum(variants, (a) => a.sent),
    ordersAttributed: sum(variants, (a) => a.conversions),
    attributedRevenue: sum(variants, (a) => a.attributedRevenue),
    incremental:
      c && cuped && holdoutArms.length > 0
        ? { estimate: cuped.estimate, interval: cuped.interval, verdict: c.verdict, claims: makesClaim(c.verdict) }
        : null,
    incrementalNote,
    winner: live ? evidentWinner(live, { minSample }) : null,
    acceptance: treated.acceptanceAny,
    acceptanceHoldout: holdoutArms.length ? held.acceptanceAny : null,
    aov: treated.aov,
    aovHoldout: holdoutArms.length ? held.aov : null,
  };
}

/** Every sequence of the report by its live version; a winner needs the report's minimum sample per arm. */
export function sequenceSummaries(report: Report): SequenceSummary[] {
  return report.sequences.map((s) => summarise(s, report.minSample));
}
