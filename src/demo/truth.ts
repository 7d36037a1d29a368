/**
 * The demo's own books against the engine's: the planted truth of each comparison (from the
 * expected worth of the emails each measured customer got) beside the report's estimate and
 * interval, and the simulator's attribution of its own orders beside the engine's.
 */
import { measuredUnits } from '../analytics/units.ts';
import type { Report } from '../analytics/report.ts';
import type { Config } from '../config.ts';
import { creditedTouch, type Touch } from '../core/attribution.ts';
import { makesClaim, type Comparison } from '../core/experiment.ts';
import { measurementWindowMs, type SequenceDefinition } from '../core/sequence.ts';
import type { Database } from '../db/client.ts';
import { eventsTagged } from '../store/events.ts';
import { codeSendTimes } from '../store/discount-codes.ts';
import type { ExpectedPurchase, Recipients, SimOrder } from './recipients.ts';

export interface TruthCheck {
  sequence: string;
  arm: string;
  against: 'control' | 'holdout';
  /** What is checked: the difference in revenue per customer, or the incremental revenue. */
  measure: 'revenue per customer' | 'incremental revenue';
  truth: number;
  estimate: number;
  interval: [number, number];
  covered: boolean;
  /** Measured customers in the arm and its baseline. */
  n: { arm: number; baseline: number };
  /** Whether the report makes a claim: both arms at the minimum sample. */
  enough: boolean;
  /** How much CUPED narrowed the 95% interval: 1 − its width / the plain interval's width. */
  cupedNarrowing: number;
  /**
   * Against the control, the same check of margin per customer (the planted margin: revenue
   * − cost of goods − the codes' discounts, beside the report's CUPED estimate and 95%
   * interval); null when the report has no margin for the comparison.
   */
  margin: { truth: number; estimate: number; interval: [number, number]; covered: boolean } | null;
}

/** 1 − the CUPED interval's width / the plain interval's width: what the spend before enrolling bought. */
export function cupedNarrowing(comparison: Pick<Comparison, 'cuped' | 'revenuePerCustomer'>): number {
  const width = (interval: [number, number]) => interval[1] - interval[0];
  return 1 - width(comparison.cuped.interval) / width(comparison.revenuePerCustomer.interval);
}

/**
 * The planted truth of each comparison: per measured customer, the expected revenue of every
 * email whose purchase would fall inside that customer's measurement window (from any
 * sequence: an email of one sequence that makes a customer exit another changes what the
 * other sends, and the report's revenue sees it), averaged per arm.
 */
export async function truthChecks(
  database: Database,
  report: Report,
  expected: readonly ExpectedPurchase[],
  live: Map<string, SequenceDefinition>,
  asOf: Date,
): Promise<TruthCheck[]> {
  const checks: TruthCheck[] = [];
  const byCustomer = new Map<string, ExpectedPurchase[]>();
  for (const e of expected) {
    const list = byCustomer.get(e.customer) ?? [];
    list.push(e);
    byCustomer.set(e.customer, list);
  }
  for (const sequence of report.sequences) {
    const version = sequence.versions.find((v) => v.live);
    const definition = live.get(sequence.id);
    if (!version || !definition) continue;
    const windowMs = measurementWindowMs(definition);
    const measured = await measuredUnits(database.db, version.versionId, { windowMs, asOf });
    const worth = new Map<string, { sum: number; margin: number; n: number }>();
    for (const unit of measured) {
      const [from, to] = [unit.enrolledAt.getTime(), unit.enrolledAt.getTime() + windowMs];
      const inside = (byCustomer.get(unit.customer) ?? []).filter((e) => e.at.getTime() > from && e.at.getTime() <= to);
      const w = worth.get(unit.arm) ?? { sum: 0, margin: 0, n: 0 };
      w.sum += inside.reduce((s, e) => s + e.worth, 0);
      w.margin += inside.reduce((s, e) => s + e.margin, 0);
      w.n += 1;
      worth.set(unit.arm, w);
    }
    const mean = (arm: string, of: 'sum' | 'margin' = 'sum') => {
      const w = worth.get(arm);
      return w && w.n ? w[of] / w.n : 0;
    };
    for (const c of version.comparisons) {
      const truth = mean(c.arm) - mean(c.baseline);
      const inside = (i: [number, number], value: number) => i[0] <= value && value <= i[1];
      const common = {
        sequence: sequence.id,
        arm: c.arm,
        against: c.against,
        n: c.n,
        enough: makesClaim(c.verdict),
        cupedNarrowing: cupedNarrowing(c),
      };
      if (c.against === 'control') {
        const marginTruth = mean(c.arm, 'margin') - mean(c.baseline, 'margin');
        checks.push({
          ...common,
          measure: 'revenue per customer',
          truth,
          estimate: c.cuped.difference,
          interval: c.cuped.interval,
          covered: inside(c.cuped.interval, truth),
          margin: c.margin
            ? {
                truth: marginTruth,
                estimate: c.margin.cuped.difference,
                interval: c.margin.cuped.interval,
                covered: inside(c.margin.cuped.interval, marginTruth),
              }
            : null,
        });
      } else if (c.incrementalRevenue) {
        const total = truth * c.n.arm;
        checks.push({
          ...common,
          measure: 'incremental revenue',
          truth: total,
          estimate: c.incrementalRevenue.cuped.estimate,
          interval: c.incrementalRevenue.cuped.interval,
          covered: inside(c.incrementalRevenue.cuped.interval, total),
          margin: null,
        });
      }
    }
  }
  return checks;
}

/**
 * The simulator's own attribution: its orders, credited by the same rule to its own human
 * touches, and an order that redeemed an email's code credited whatever the touches, as the
 * rule says first: the code's first order, once that email was sent.
 */
export async function creditLedger(
  database: Database,
  ledger: SimOrder[],
  touches: Recipients['touches'],
  config: Config,
  asOf: Date,
): Promise<number> {
  // The engine's clock stamped each touch on arrival; the simulator tagged its requests to find them.
  const stamped = await eventsTagged(database.db, 'DemoTouch/');
  const at = new Map(stamped.map((row) => [Number(/DemoTouch\/(\d+)/.exec(row.userAgent)![1]), row.occurredAt]));
  const byCustomer = new Map<string, Touch[]>();
  for (const t of touches) {
    const when = at.get(t.id);
    if (!t.human || !when) continue;
    const list = byCustomer.get(t.customer) ?? [];
    list.push({ messageId: t.messageId, type: t.type, at: when });
    byCustomer.set(t.customer, list);
  }
  // A code is redeemed by its first order, and counts once its email is sent by the engine's
  // clock: on a busy machine the reader can act (and the purchase be stamped) before the
  // engine has marked the email sent. A reader of two emails showing the same code can use
  // it twice; the second order is credited by its touches only.
  const sentAt = await codeSendTimes(
    database.db,
    ledger.flatMap((o) => (o.code ? [o.code] : [])),
  );
  const firstUse = new Map<string, SimOrder>();
  for (const order of ledger) {
    if (order.code === null) continue;
    const code = order.code.toUpperCase();
    const first = firstUse.get(code);
    if (first === undefined || order.at < first.at) firstUse.set(code, order);
  }
  const redeemed = new Set([...firstUse].filter(([code, order]) => (sentAt.get(code) ?? Infinity) <= order.at).map(([, order]) => order));
  let total = 0;
  // The report counts orders up to its as-of time; an action still in flight when the run stopped can land after it.
  for (const order of ledger)
    if (order.at <= asOf && (redeemed.has(order) || creditedTouch(byCustomer.get(order.customer) ?? [], order.at, config.attribution)))
      total += order.total;
  return total;
}
