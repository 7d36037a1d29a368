/**
 * The analytics report: per sequence version, per arm (each variant and the holdout) and per
 * step, the funnel and the attributed revenue; then each variant against the control
 * variant and against the holdout on revenue per enrolled customer and conversion rate.
 * `campaign report`, the HTTP API and the dashboard all print this one structure.
 *
 * Longer than most files on purpose: the report's SQL and the assembly that reads it are
 * one contract (each figure's name, its query and its unit), easier to check side by side.
 *
 * Two views of revenue sit side by side:
 * - attributed: orders credited to a message by the attribution model (what marketing
 *   tools show), per arm and per step;
 * - measured: every order of every enrolled customer inside the sequence's measurement
 *   window after enrolling (the trigger order excluded), holdout included, with no
 *   attribution at all. Only customers whose window has closed are measured, so every one
 *   had the same time to buy. The comparisons and the incremental revenue use this view:
 *   arms are randomised, so its differences are causal.
 *
 * The database reduces everything to a few numbers per arm and step (counts, sums, means,
 * variances, covariances); the statistics work on those (src/core/stats.ts). Opens and
 * clicks come from the per-message engagement rollup (./engagement.ts), never from a pass
 * over every event. The offer KPIs (acceptance, recommended revenue, order value, items per
 * order, repeat rate) come from ./kpis.ts on the same units, and src/core/kpis.ts.
 */
import { sql, type SQL } from 'drizzle-orm';
import { attributionKey, type AttributionModel } from '../core/attribution.ts';
import { armKpis, compareKpis, emptyMoments, poolMoments, REPEAT_HORIZON_DAYS, type ArmKpis, type KpiMoments } from '../core/kpis.ts';
import {
  compareArms,
  decideVersion,
  poolArms,
  srmCheck,
  type ArmOutcome,
  type Comparison,
  type GuardrailCounts,
  type ComparedMetric,
  type MarginComparison,
  type SrmCheck,
} from '../core/experiment.ts';
import type { Effect } from '../core/plan.ts';
import { meanInterval } from '../core/stats.ts';
import { measurementWindowMs, type SequenceDefinition } from '../core/sequence.ts';
import { independently, queryRows, snapshotLanes, type Db } from '../db/client.ts';
import { engagementTable, eventsAfter, ordersAfter, sentAfter } from './as-of.ts';
import { refreshAttribution } from './attribution.ts';
import { codeCounts, codeRows, type CodeCounts, type CodeRow } from './codes.ts';
import { customerUnits, NET_WINDOW_REVENUE, rollupUnits, windowOrders } from './cohort.ts';
import { breakdownCells } from './breakdown.ts';
import { breakdown, type BreakdownRow, type CellSample } from '../core/breakdown.ts';
import { FUNNEL_COUNT_SUMS, refreshEngagement } from './engagement.ts';
import { sendsSettled, settleSends } from '../store/outcomes.ts';
import { guardrailCounts } from './guardrails.ts';
import { kpiMoments, stepAcceptance } from './kpis.ts';

/** The units of the comparison, in ./cohort.ts beside the guardrails that count them too. */
export { customerUnits };

export interface Funnel {
  sent: number;
  delivered: number;
  bounced: number;
  /** Messages opened at least once: by a person (human), by anyone or anything (raw). */
  opens: { human: number; raw: number };
  /** Messages with at least one click: by a person, by anyone or anything. */
  clicks: { human: number; raw: number };
  unsubscribes: number;
  complaints: number;
  /** Orders credited to these messages by the attribution model. */
  conversions: number;
  attributedRevenue: number;
  /**
   * Attributed revenue per delivered email (the name is older than the label: it is per
   * delivered email, not per person; kept so the JSON contract does not change).
   */
  revenuePerRecipient: number | null;
  /** Attributed revenue per attributed order. */
  averageOrderValue: number | null;
}

export interface StepReport extends Funnel {
  /** 1-based, as marketers count. */
  step: number;
  template: string;
  /**
   * Delivered emails of this step whose recipient then bought (after the send, within the
   * measurement window from enrolling, by as-of) one of the products that email offered.
   */
  accepted: number;
  /** accepted / delivered; null when none was delivered. */
  acceptanceRate: number | null;
  /** Discount codes this step's sent emails issued, redeemed by as-of, and what the redemptions cost (./codes.ts). */
  codes: CodeCounts;
}

export interface ArmReport extends Funnel {
  arm: string;
  holdout: boolean;
  /** Customers enrolled in this arm of this version (one enrolled twice counts once). */
  enrolled: number;
  /** Enrolled customers whose measurement window has closed, and what they bought in it. */
  measured: {
    customers: number;
    converted: number;
    conversionRate: number | null;
    revenue: number;
    revenuePerCustomer: number | null;
    /** The 95% t interval of revenue per customer; null under two measured customers. */
    revenuePerCustomerInterval: [number, number] | null;
  };
  /**
   * Gross margin of the measured customers: revenue (net of refunds) − cost of goods
   * (quantity × the product's cost, or its price × (1 − SHOP_DEFAULT_MARGIN) when it has
   * none) − discounts, per customer as revenue is. Null when a customer bought a product
   * without a cost and SHOP_DEFAULT_MARGIN is unset (the margin cannot be told).
   */
  margin: ArmMargin | null;
  /** The offer KPIs over the measured customers (the repeat rate over those whose repeat horizon has closed). */
  kpis: ArmKpis;
  /** Discount codes over the arm's steps: each code counted once, at the step that issued it. */
  codes: CodeCounts;
  steps: StepReport[];
}

export interface ArmMargin {
  /** Σ over the measured customers, exact to 4 decimals. */
  total: number;
  perCustomer: number | null;
  /** The 95% t interval of margin per customer; null under two measured customers. */
  perCustomerInterval: [number, number] | null;
  /** The share of the cost of goods that was assumed from SHOP_DEFAULT_MARGIN (0 to 1); null when there was no cost of goods. */
  assumedCostShare: number | null;
}

export interface VersionReport {
  /** The stored version's id (sequence_versions.id). */
  versionId: number;
  version: number;
  live: boolean;
  createdAt: string;
  measurementWindowDays: number;
  /** The first variant: what the others are compared with. */
  control: string;
  arms: ArmReport[];
  /**
   * Sample-ratio mismatch: enrolled customers per arm (holdout included) against the planned
   * weights, chi-square; flagged below p = 0.001, and then every verdict says so.
   */
  srm: SrmCheck;
  comparisons: Comparison[];
  /**
   * Every variant's customers pooled against the holdout: does any email earn more than none?
   * Null without a holdout or with a single variant (then it is that variant's comparison).
   * Outside the Holm family of the per-variant comparisons: it asks a different question.
   */
  anyEmail: Comparison | null;
  /** Set when the report was asked to winsorise: the pooled percentile and the cap it gave. */
  winsorized: { percentile: number; cap: number | null } | null;
  /**
   * Each comparison within first-time and repeat buyers, each segment at enrollment, and
   * the chosen attribute's values: Welch per cell, Holm across all cells, every row
   * `exploratory` (src/core/breakdown.ts). Leads for a targeted test, not verdicts.
   */
  breakdown: BreakdownRow[];
}

export interface SequenceReport {
  id: string;
  name: string;
  status: string;
  versions: VersionReport[];
}

export interface Report {
  asOf: string;
  attributionModel: string;
  minSample: number;
  /** Set when the report covers only customers enrolled from this time. */
  enrolledFrom: string | null;
  sequences: SequenceReport[];
}

export interface ReportOptions {
  /** The engine's now (a scaled clock in the demo). */
  asOf: Date;
  attribution: AttributionModel;
  minSample: number;
  /** One sequence; default all. */
  sequenceId?: string;
  /** Bring attribution up to date first (default true). */
  refresh?: boolean;
  /** Only customers enrolled at or after this time (a period's cohorts); default all. */
  enrolledFrom?: Date | undefined;
  /** The effect each comparison's `daysToDetect` answers for; default 5% of the baseline. */
  detect?: Effect | undefined;
  /**
   * Also compare revenue capped at this percentile of every measured customer of the version
   * (0.99: the top 1% capped at the 99th percentile), beside the plain comparison.
   */
  winsorize?: number | undefined;
  /** Another order within this many days of enrolling counts as a repeat (`kpis.repeatRate`); default 90. */
  repeatHorizonDays?: number | undefined;
  /** SHOP_DEFAULT_MARGIN: the margin in percent assumed for a product without a cost; unset, none is assumed. */
  defaultMarginPercent?: number | undefined;
  /** A customer attribute to break the comparisons down by, beside first/repeat buyer and segment. */
  breakdownAttribute?: string | undefined;
  /**
   * Read the per-enrollment rollup (src/store/outcomes.ts) where it serves (default true);
   * false recomputes every figure from the raw rows, what the rollup is checked against.
   */
  rollup?: boolean | undefined;
}

interface VersionRow {
  id: number;
  sequence_id: string;
  name: string;
  status: string;
  version: number;
  live: boolean;
  created_at: Date;
  definition: SequenceDefinition;
}

interface FunnelRow {
  version_id: number;
  arm: string;
  step: number;
  sent: number;
  bounced: number;
  human_opens: number;
  raw_opens: number;
  human_clicks: number;
  raw_clicks: number;
  unsubscribes: number;
  complaints: number;
  conversions: number;
  revenue: number;
  /** Delivered emails accepted by as-of, from the acceptance rollup; absent when the funnel is read without it. */
  accepted?: number;
}

interface OutcomeRow {
  arm: string;
  enrolled: number;
  /** Enrolled in the 14 days before as-of, and the arm's first enrollment: the recent rate. */
  recent: number;
  first_enrolled_at: string | Date | null;
  n: number;
  converted: number;
  revenue: number | null;
  mean_y: number | null;
  var_y: number | null;
  mean_x: number | null;
  var_x: number | null;
  cov_xy: number | null;
  /** The same moments with revenue capped at `cap` (when winsorising). */
  cap: number | null;
  mean_w: number | null;
  var_w: number | null;
  cov_wx: number | null;
  /** Margin (net revenue − cost of goods − discounts) per measured customer: its exact sum (numeric as text) and moments. */
  margin: string | null;
  mean_m: number | null;
  var_m: number | null;
  cov_mx: number | null;
  /** Cost of goods of the measured customers, and the part of it assumed from the default margin (numeric as text). */
  cogs: string | null;
  assumed: string | null;
  /** Measured customers who bought a product without a cost while no default margin is set. */
  uncosted: number;
}

/**
 * Connections a report reads on at once, on Postgres: its own transaction and up to three
 * more that share its snapshot (src/db/client.ts `snapshotLanes`), taken only when the pool
 * has them spare. A version's outcome, offer, breakdown and guardrail queries are each a pass
 * over its units; side by side they take about the longest of them instead of their sum,
 * where the server has the cores. PGlite reads on its one connection.
 */
const REPORT_LANES = 4;

export async function buildReport(db: Db, options: ReportOptions): Promise<Report> {
  // Attribution and engagement are independent: on Postgres they are brought up to date at
  // once, on connections of their own (the engagement refresh, then the settle, on one).
  if (options.refresh !== false)
    await independently(db, [
      () => refreshAttribution(db, options.attribution),
      async () => {
        await refreshEngagement(db);
        await settleSends(db);
      },
    ]);
  const model = attributionKey(options.attribution);
  const only = options.sequenceId === undefined ? sql`true` : sql`s.id = ${options.sequenceId}`;
  const sequences = new Map<string, SequenceReport>();
  // One read-only snapshot for all the queries, so the numbers agree with each other.
  // JIT compilation costs more than it saves on these queries; hashing wants memory. No
  // parallel workers: the planner's parallel plans for these queries had each worker build
  // the whole hash of a grouped subquery (the credited orders, the flagged customers) again,
  // three times the work for the same answer, and twice the time on two cores. The
  // version's queries run at once instead, on lanes sharing the snapshot (REPORT_LANES).
  const session = [sql`set local jit = off`, sql`set local work_mem = '64MB'`, sql`set local max_parallel_workers_per_gather = 0`];
  await db.transaction(async (tx) => {
    await tx.execute(sql`set transaction isolation level repeatable read, read only`);
    for (const statement of session) await tx.execute(statement);
    const versions = await queryRows<VersionRow>(
      tx,
      sql`select v.id, s.id as sequence_id, s.name, s.status, v.version, v.id = s.live_version_id as live, v.created_at, v.definition
          from sequences s join sequence_versions v on v.sequence_id = s.id
          where ${only} and (v.id = s.live_version_id or exists (select 1 from enrollments e where e.sequence_version_id = v.id))
          order by s.id, v.version desc`,
    );
    const from = options.enrolledFrom?.toISOString() ?? '-infinity';
    const later = await eventsAfter(tx, options.asOf);
    const engagement = engagementTable(later, options.asOf);
    const rollup = options.rollup !== false && (await rollupServes(tx, options.asOf));
    // The rollup's offer figures count every sent email: exact when none was sent after as-of.
    const sentLater = rollup && (await sentAfter(tx, options.asOf));
    const engaged = rollup && !later && !sentLater && (await sendsSettled(tx));
    const counted = engaged && options.enrolledFrom === undefined && !(await ordersAfter(tx, options.asOf));
    const horizonDays = options.repeatHorizonDays ?? REPEAT_HORIZON_DAYS;
    const built = await snapshotLanes(db, tx, versions.length ? REPORT_LANES - 1 : 0, session, async (onLane) => {
      const funnels = onLane((lane) =>
        funnelRows(
          lane,
          versions.map((v) => v.id),
          { model, from, asOf: options.asOf, engagement, rollup, engaged, counted },
        ),
      );
      // Every query of every version is asked for before any is awaited: the lanes take them in this order.
      const parts = versions.map((v) => {
        const windowMs = measurementWindowMs(v.definition);
        const asOf = options.asOf;
        return {
          v,
          windowMs,
          outcomes: onLane(async (lane) =>
            outcomeRows(lane, v.id, {
              windowMs,
              asOf,
              from,
              winsorize: options.winsorize,
              defaultMarginPercent: options.defaultMarginPercent,
              rollup: rollup && (options.defaultMarginPercent === undefined || !(await assumesCosts(lane, v.id))),
            }),
          ),
          kpis: onLane((lane) =>
            kpiMoments(lane, v.id, { from, windowMs, asOf, repeatHorizonDays: horizonDays, rollup: rollup && !sentLater }),
          ),
          cells: onLane((lane) => breakdownCells(lane, v.id, { windowMs, asOf, from, attribute: options.breakdownAttribute, rollup })),
          // The rollup's guardrail flags are the engagement rollup's: exact when no event is later than as-of.
          guardrails: onLane((lane) => guardrailCounts(lane, v.id, { from, windowMs, asOf, rollup: rollup && !later })),
          // From the rollup, the funnel rows carry each step's acceptance; else from the raw rows.
          steps: rollup ? undefined : onLane((lane) => stepAcceptance(lane, v.id, { from, windowMs, asOf, engagement })),
          codes: onLane((lane) => codeRows(lane, v.id, { from, asOf })),
        };
      });
      const allFunnels = await funnels;
      const reports: [VersionRow, VersionReport][] = [];
      for (const part of parts) {
        const { v } = part;
        const versionFunnels = allFunnels.filter((f) => f.version_id === v.id);
        const steps = (await part.steps) ?? versionFunnels.map((f) => ({ arm: f.arm, step: f.step, accepted: f.accepted ?? 0 }));
        reports.push([
          v,
          versionReport(
            v,
            part.windowMs,
            await part.outcomes,
            versionFunnels,
            { minSample: options.minSample, detect: options.detect, asOf: options.asOf, winsorize: options.winsorize },
            await part.guardrails,
            { moments: await part.kpis, steps, horizonDays },
            await part.codes,
            await part.cells,
          ),
        ]);
      }
      return reports;
    });
    for (const [v, report] of built) {
      let sequence = sequences.get(v.sequence_id);
      if (!sequence) sequences.set(v.sequence_id, (sequence = { id: v.sequence_id, name: v.name, status: v.status, versions: [] }));
      sequence.versions.push(report);
    }
  });
  return {
    asOf: options.asOf.toISOString(),
    attributionModel: model,
    minSample: options.minSample,
    enrolledFrom: options.enrolledFrom?.toISOString() ?? null,
    sequences: [...sequences.values()],
  };
}

/**
 * Messages, their events and their attributed orders, per version, arm and step, as of
 * `asOf`: emails sent by then, their engagement by then (./as-of.ts), orders placed by then.
 * An order credited to an email was placed after its touch, so an order by `asOf` has its
 * touch by `asOf` too: filtering the stored attributions by order time is the cut.
 *
 * Four ways to the same rows, the fastest that serves:
 * - `counted` (as `engaged`, for every enrollment, and no order is later than as-of): from
 *   the per-step counts the triggers of migration 0033 keep, a few rows per step, less what
 *   a cancelled order (credited by a refresh that ran beside its cancellation) or a refund
 *   by as-of takes away from the credited orders, both rare; each step's acceptance from
 *   the accepted emails alone.
 * - `engaged` (the rollup serves, no event and no send is later than as-of, and every send
 *   is settled): from `message_engagement` alone, where every sent email has its row with
 *   its version, arm, step and enrollment time and `sent` set (migration 0032), its flags
 *   those of every event by then; no join of a million emails with their engagement.
 * - `rollup`: the emails' version, arm and enrollment time as copied onto their own rows
 *   (migration 0030) instead of a join of every sent email with its enrollment, and each
 *   step's delivered emails accepted by `asOf` (the acceptance rollup, src/store/outcomes.ts:
 *   its first order holding an offered product placed by then), what ./kpis.ts
 *   `stepAcceptance` computes from the raw rows.
 * - neither: from the enrollments themselves, what the others are checked against.
 */
async function funnelRows(
  db: Db,
  versionIds: number[],
  options: { model: string; from: string; asOf: Date; engagement: SQL; rollup: boolean; engaged: boolean; counted: boolean },
): Promise<FunnelRow[]> {
  const { model, from, asOf, engagement } = options;
  if (versionIds.length === 0) return [];
  const at = asOf.toISOString();
  const ids = sql.join(
    versionIds.map((id) => sql`${id}`),
    sql`, `,
  );
  if (options.counted) return countedFunnelRows(db, ids, model, at);
  // Every credited message's orders (a row per attribution, not a pass over the messages);
  // the join with the sent emails below keeps the report's. Net of the refunds made by
  // as-of; a cancelled order earns no credit.
  const credited = sql`select a.message_id, count(*)::int as conversions, sum(greatest(o.total - coalesce(rf.amount, 0), 0))::float8 as revenue
    from attributions a join orders o on o.id = a.order_id and o.cancelled_at is null
    left join (select r.order_id, sum(r.amount) as amount from refunds r where r.refunded_at <= ${at}::timestamptz group by r.order_id) rf
      on rf.order_id = o.id
    where a.model = ${model} and o.ordered_at <= ${at}::timestamptz
    group by a.message_id`;
  if (options.engaged)
    return queryRows<FunnelRow>(
      db,
      sql`with credited as (${credited})
          select t.sequence_version_id as version_id, t.arm, t.step, count(*)::int as sent,
                 count(*) filter (where t.bounced)::int as bounced,
                 count(*) filter (where t.human_open)::int as human_opens, count(*) filter (where t.raw_open)::int as raw_opens,
                 count(*) filter (where t.human_click)::int as human_clicks, count(*) filter (where t.raw_click)::int as raw_clicks,
                 count(*) filter (where t.unsubscribed)::int as unsubscribes, count(*) filter (where t.complained)::int as complaints,
                 coalesce(sum(c.conversions), 0)::int as conversions, coalesce(sum(c.revenue), 0)::float8 as revenue,
                 count(*) filter (where not t.bounced and ma.accepted_at <= ${at}::timestamptz)::int as accepted
          from message_engagement t left join credited c on c.message_id = t.message_id
          left join message_acceptance ma on ma.message_id = t.message_id
          where t.sent and t.sequence_version_id in (${ids}) and t.enrolled_at >= ${from}::timestamptz
          group by t.sequence_version_id, t.arm, t.step`,
    );
  return queryRows<FunnelRow>(
    db,
    sql`with sent as (${
      options.rollup
        ? // The enrollment's version, arm and time as copied onto each email (migration 0030).
          sql`select m.id, m.sequence_version_id as version_id, m.arm, m.step from messages m
              where m.sequence_version_id in (${ids}) and m.state = 'sent' and m.enrolled_at >= ${from}::timestamptz
                and m.sent_at <= ${at}::timestamptz`
        : // From the enrollments themselves, what the copies are checked against.
          sql`select m.id, e.sequence_version_id as version_id, e.arm, m.step
              from messages m join enrollments e on e.id = m.enrollment_id
              where e.sequence_version_id in (${ids}) and m.state = 'sent' and e.enrolled_at >= ${from}::timestamptz
                and m.sent_at <= ${at}::timestamptz`
    }), credited as (${credited})
        select s.version_id, s.arm, s.step, count(*)::int as sent,
               count(*) filter (where t.bounced)::int as bounced,
               count(*) filter (where t.human_open)::int as human_opens, count(*) filter (where t.raw_open)::int as raw_opens,
               count(*) filter (where t.human_click)::int as human_clicks, count(*) filter (where t.raw_click)::int as raw_clicks,
               count(*) filter (where t.unsubscribed)::int as unsubscribes, count(*) filter (where t.complained)::int as complaints,
               coalesce(sum(c.conversions), 0)::int as conversions, coalesce(sum(c.revenue), 0)::float8 as revenue
               ${options.rollup ? sql`, count(*) filter (where not coalesce(t.bounced, false) and ma.accepted_at <= ${at}::timestamptz)::int as accepted` : sql``}
        from sent s left join ${engagement} t on t.message_id = s.id left join credited c on c.message_id = s.id
        ${options.rollup ? sql`left join message_acceptance ma on ma.message_id = s.id` : sql``}
        group by s.version_id, s.arm, s.step`,
  );
}

/**
 * {@link funnelRows} from the per-step counts (migration 0033): the funnel's sums, the
 * credited orders' sums less the orders cancelled since they were credited and the refunds
 * by `at` (an order's net is its total less its refunds, never below nothing), and the
 * accepted emails that did not bounce. Every sent email is settled and no event, send or
 * order is later than `at`: the counts are then the raw rows' as of `at`.
 */
function countedFunnelRows(db: Db, ids: SQL, model: string, at: string): Promise<FunnelRow[]> {
  return queryRows<FunnelRow>(
    db,
    sql`with funnel as (
          select sequence_version_id, arm, step, ${FUNNEL_COUNT_SUMS}
          from funnel_counts where sequence_version_id in (${ids}) group by sequence_version_id, arm, step
        ), credited as (
          select sequence_version_id, arm, step, sum(conversions) as conversions, sum(revenue) as revenue
          from credited_counts where model = ${model} and sequence_version_id in (${ids}) group by sequence_version_id, arm, step
        ), refunded as (
          select r.order_id, sum(r.amount) as amount from refunds r where r.refunded_at <= ${at}::timestamptz group by r.order_id
        ), taken as (
          -- A cancelled order's credit whole; a refunded one's refunds, up to its total.
          select m.sequence_version_id, m.arm, m.step, count(*) filter (where o.cancelled_at is not null) as conversions,
                 sum(case when o.cancelled_at is not null then a.revenue else least(rf.amount, a.revenue) end) as revenue
          from (select id as order_id from orders where cancelled_at is not null union select order_id from refunded) x
          join attributions a on a.order_id = x.order_id and a.model = ${model}
          join orders o on o.id = a.order_id
          left join refunded rf on rf.order_id = a.order_id
          join messages m on m.id = a.message_id
          where m.sequence_version_id in (${ids})
          group by m.sequence_version_id, m.arm, m.step
        ), accepted as (
          select t.sequence_version_id, t.arm, t.step, count(*)::int as accepted
          from message_acceptance ma join message_engagement t on t.message_id = ma.message_id
          where t.sent and not t.bounced and ma.accepted_at <= ${at}::timestamptz and t.sequence_version_id in (${ids})
          group by t.sequence_version_id, t.arm, t.step
        )
        select f.sequence_version_id as version_id, f.arm, f.step, f.sent, f.bounced, f.human_opens, f.raw_opens,
               f.human_clicks, f.raw_clicks, f.unsubscribes, f.complaints,
               (coalesce(c.conversions, 0) - coalesce(k.conversions, 0))::int as conversions,
               (coalesce(c.revenue, 0) - coalesce(k.revenue, 0))::float8 as revenue,
               coalesce(ac.accepted, 0) as accepted
        from funnel f
        left join credited c using (sequence_version_id, arm, step)
        left join taken k using (sequence_version_id, arm, step)
        left join accepted ac using (sequence_version_id, arm, step)
        where f.sent > 0`,
  );
}

/**
 * Per arm: enrolled customers (and how many lately, for the enrollment rate), and the
 * moments of revenue and pre-enrolment spend over those measured; when winsorising, the
 * version's pooled percentile of revenue per measured customer and the moments capped at it.
 * Beside revenue, each customer's gross margin, in exact numeric: per order its net revenue
 * − its cost of goods (Σ quantity × the product's cost, or its price × (100 − the default
 * margin) / 100 rounded to 4 decimals when it has none) − its discount_total. A refund
 * lowers the revenue and leaves the cost of goods (a refund records no goods coming back),
 * and the discount stays; a cancelled order counts nothing (see docs/ARCHITECTURE.md).
 */
async function outcomeRows(
  db: Db,
  versionId: number,
  options: {
    windowMs: number;
    asOf: Date;
    from: string;
    winsorize?: number | undefined;
    defaultMarginPercent?: number | undefined;
    rollup: boolean;
  },
): Promise<OutcomeRow[]> {
  const { asOf } = options;
  const cap =
    options.winsorize === undefined
      ? sql`select null::float8 as cap`
      : sql`select percentile_cont(${options.winsorize}::float8) within group (order by y) as cap from outcome where measured`;
  return queryRows<OutcomeRow>(
    db,
    // `mf`, the margin as float8, converted once per unit (`offset 0` keeps it from being
    // folded into each aggregate that reads it; numeric to float8 goes through text).
    sql`with outcome as (select *, m::float8 as mf from (${options.rollup ? rollupOutcome(versionId, options) : rawOutcome(versionId, options)}) o offset 0),
        capped as (${cap})
        select arm, count(*)::int as enrolled, count(*) filter (where measured)::int as n,
               count(*) filter (where enrolled_at > ${asOf.toISOString()}::timestamptz - interval '14 days')::int as recent,
               min(enrolled_at) as first_enrolled_at,
               count(*) filter (where measured and converted)::int as converted,
               sum(y) filter (where measured) as revenue,
               avg(y) filter (where measured) as mean_y, var_samp(y) filter (where measured) as var_y,
               avg(x) filter (where measured) as mean_x, var_samp(x) filter (where measured) as var_x,
               covar_samp(y, x) filter (where measured) as cov_xy,
               min(c.cap) as cap,
               avg(least(y, c.cap)) filter (where measured) as mean_w, var_samp(least(y, c.cap)) filter (where measured) as var_w,
               covar_samp(least(y, c.cap), x) filter (where measured) as cov_wx,
               (sum(m) filter (where measured))::text as margin,
               avg(mf) filter (where measured) as mean_m, var_samp(mf) filter (where measured) as var_m,
               covar_samp(mf, x) filter (where measured) as cov_mx,
               (sum(cogs) filter (where measured))::text as cogs, (sum(assumed) filter (where measured))::text as assumed,
               count(*) filter (where measured and uncosted)::int as uncosted
        from outcome cross join capped c group by arm`,
  );
}

/**
 * The `outcome` CTE of {@link outcomeRows} from the raw rows: per unit, the window orders
 * (./cohort.ts) with their refunds by as-of and their lines' cost of goods.
 */
function rawOutcome(
  versionId: number,
  options: { windowMs: number; asOf: Date; from: string; defaultMarginPercent?: number | undefined },
): SQL {
  const { windowMs, asOf, from } = options;
  const pct = sql`${options.defaultMarginPercent ?? null}::numeric`;
  return sql`select e.arm, e.measured, e.enrolled_at,
                 e.pre_spend::float8 as x, ${NET_WINDOW_REVENUE} as y,
                 count(o.id) > 0 as converted,
                 coalesce(sum(greatest(o.total - coalesce(rf.amount, 0), 0) - o.discount_total - coalesce(cg.cogs, 0)), 0) as m,
                 coalesce(sum(cg.cogs), 0) as cogs, coalesce(sum(cg.assumed), 0) as assumed,
                 coalesce(bool_or(cg.uncosted), false) and ${pct} is null as uncosted
          from (${customerUnits(versionId, { from, windowMs, asOf })}) e
          -- An order's revenue is its total net of the refunds made by as-of; a cancelled order
          -- is no order (it earns nothing, and its customer did not convert by it).
          ${windowOrders({ windowMs, asOf })}
          -- The order's cost of goods; a product without a cost at the default margin (none when unset).
          left join lateral (select sum(i.quantity * coalesce(p.cost, round(p.price * (100 - ${pct}) / 100, 4))) as cogs,
                                    coalesce(sum(i.quantity * round(p.price * (100 - ${pct}) / 100, 4)) filter (where p.cost is null), 0) as assumed,
                                    bool_or(p.cost is null) as uncosted
                             from order_items i join products p on p.id = i.product_id where i.order_id = o.id) cg on o.id is not null
          group by e.id, e.arm, e.measured, e.pre_spend, e.enrolled_at`;
}

/**
 * The `outcome` CTE of {@link outcomeRows} from the per-enrollment rollup: the same columns
 * per unit (./cohort.ts `rollupUnits`). Serves when no refund is later than as-of and no
 * cost of goods would be assumed from the default margin (the rollup keeps only the cost of
 * lines whose product has one): then `assumed` is 0, as the raw rows give it.
 */
function rollupOutcome(versionId: number, options: { asOf: Date; from: string; defaultMarginPercent?: number | undefined }): SQL {
  const pct = sql`${options.defaultMarginPercent ?? null}::numeric`;
  return sql`select arm, measured, enrolled_at, pre_spend::float8 as x, y, orders > 0 as converted, margin as m, cogs,
                    0::numeric as assumed, uncosted and ${pct} is null as uncosted
             from (${rollupUnits(versionId, options)}) e`;
}

/** Whether a product bought in a window of the version has no cost, in the rollup: a default margin would assume one. */
async function assumesCosts(db: Db, versionId: number): Promise<boolean> {
  const [row] = await queryRows<{ assumes: boolean }>(
    db,
    sql`select exists (select 1 from enrollment_outcomes where sequence_version_id = ${versionId} and uncosted) as assumes`,
  );
  return row?.assumes === true;
}

/**
 * Whether the per-enrollment rollup serves a report as of `asOf`: it has been built
 * (src/store/outcomes.ts `rebuildOutcomes`, kept up to date since), and no refund is later
 * than `asOf` (the rollup nets every refund; the raw rows net those made by as-of). Orders
 * need no check: a measured customer's window, and so every order it counts, closed by as-of.
 */
async function rollupServes(db: Db, asOf: Date): Promise<boolean> {
  const [row] = await queryRows<{ serves: boolean }>(
    db,
    sql`select exists (select 1 from outcome_runs)
               and not exists (select 1 from refunds where refunded_at > ${asOf.toISOString()}::timestamptz) as serves`,
  );
  return row?.serves === true;
}

function versionReport(
  v: VersionRow,
  windowMs: number,
  outcomes: OutcomeRow[],
  funnels: FunnelRow[],
  options: { minSample: number; detect?: Effect | undefined; asOf: Date; winsorize?: number | undefined },
  guardrails: Map<string, GuardrailCounts>,
  offers: { moments: KpiMoments[]; steps: { arm: string; step: number; accepted: number }[]; horizonDays: number },
  codes: CodeRow[] = [],
  cells: CellSample[] = [],
): VersionReport {
  const { minSample } = options;
  const definition = v.definition;
  const control = definition.variants[0]!.key;
  const armKeys = [...definition.variants.map((variant) => variant.key), ...(definition.holdout > 0 ? ['holdout'] : [])];
  // Arms no longer in the definition (never, for an immutable version) would still show.
  for (const o of outcomes) if (!armKeys.includes(o.arm)) armKeys.push(o.arm);
  const moments = (arm: string): KpiMoments => offers.moments.find((m) => m.arm === arm) ?? emptyMoments(arm);

  const arms = armKeys.map((arm): ArmReport => {
    const outcome = outcomes.find((o) => o.arm === arm);
    const steps = definition.steps.map((step, index): StepReport => {
      const row = funnels.find((f) => f.arm === arm && f.step === index);
      const f = funnel(row ? [row] : []);
      const accepted = offers.steps.find((s) => s.arm === arm && s.step === index)?.accepted ?? 0;
      return {
        step: index + 1,
        template: templateOf(definition, arm, step.template),
        ...f,
        accepted,
        acceptanceRate: f.delivered > 0 ? accepted / f.delivered : null,
        codes: codeCounts(codes.filter((c) => c.arm === arm && c.step === index)),
      };
    });
    const n = outcome?.n ?? 0;
    return {
      arm,
      holdout: arm === 'holdout',
      enrolled: outcome?.enrolled ?? 0,
      ...funnel(funnels.filter((f) => f.arm === arm)),
      measured: {
        customers: n,
        converted: outcome?.converted ?? 0,
        conversionRate: n > 0 ? (outcome?.converted ?? 0) / n : null,
        revenue: outcome?.revenue ?? 0,
        revenuePerCustomer: n > 0 ? (outcome?.mean_y ?? null) : null,
        revenuePerCustomerInterval: meanInterval({ n, mean: outcome?.mean_y ?? NaN, variance: outcome?.var_y ?? NaN }),
      },
      margin: armMargin(outcome),
      kpis: armKpis(moments(arm), offers.horizonDays),
      codes: codeCounts(codes.filter((c) => c.arm === arm)),
      steps,
    };
  });

  // The recent enrollment rate: customers enrolled in the last 14 days (or since the
  // version's first enrollment, when that is sooner) per day.
  const firsts = outcomes
    .map((o) => (o.first_enrolled_at === null ? NaN : new Date(o.first_enrolled_at).getTime()))
    .filter(Number.isFinite);
  const spanDays = firsts.length ? Math.min(14, (options.asOf.getTime() - Math.min(...firsts)) / 86_400_000) : 0;
  const sample = (arm: string, capped = false): ArmOutcome => {
    // An arm with no measured customer has no moments: NaN, so its comparison says `no data`
    // instead of comparing with $0. One customer has a mean but no variance (NaN as well).
    const o = outcomes.find((row) => row.arm === arm);
    return {
      arm,
      n: o?.n ?? 0,
      converted: o?.converted ?? 0,
      mean: (capped ? o?.mean_w : o?.mean_y) ?? NaN,
      variance: (capped ? o?.var_w : o?.var_y) ?? NaN,
      covariateMean: o?.mean_x ?? NaN,
      covariateVariance: o?.var_x ?? NaN,
      covariance: (capped ? o?.cov_wx : o?.cov_xy) ?? NaN,
      perDay: spanDays > 0 ? (o?.recent ?? 0) / spanDays : 0,
    };
  };
  /** The arm's margin per customer as a comparison's outcome, CUPED with the same pre-enrolment spend; null when unknown. */
  const marginSample = (arm: string): ArmOutcome | null => {
    const o = outcomes.find((row) => row.arm === arm);
    if ((o?.uncosted ?? 0) > 0) return null;
    return { ...sample(arm), mean: o?.mean_m ?? NaN, variance: o?.var_m ?? NaN, covariance: o?.cov_mx ?? NaN };
  };
  const compare = (a: ArmOutcome, b: ArmOutcome, against: 'control' | 'holdout', metric: ComparedMetric = 'revenue') =>
    compareArms(a, b, { against, minSample, detect: options.detect, metric });
  const compared: Comparison[] = [];
  const pairs: [string, string, 'control' | 'holdout'][] = [];
  for (const variant of definition.variants) {
    if (variant.key !== control) pairs.push([variant.key, control, 'control']);
    if (definition.holdout > 0) pairs.push([variant.key, 'holdout', 'holdout']);
  }
  const srm = srmCheck(definition, new Map(arms.map((a) => [a.arm, a.enrolled])));
  // Margin is compared pair by pair as revenue is, as a family of its own (Holm within it).
  const marginOf = new Map<string, MarginComparison>();
  const marginPairs = pairs.flatMap(([a, b, against]) => {
    const [ma, mb] = [marginSample(a), marginSample(b)];
    return ma && mb ? [compare(ma, mb, against, 'margin')] : [];
  });
  for (const m of decideVersion(marginPairs, new Map(), srm)) marginOf.set(`${m.arm}|${m.baseline}`, marginComparison(m));
  for (const [a, b, against] of pairs) {
    const comparison: Comparison = { ...compare(sample(a), sample(b), against), kpis: compareKpis(moments(a), moments(b)) };
    if (options.winsorize !== undefined) {
      const w = compare(sample(a, true), sample(b, true), against).cuped;
      comparison.winsorized = { difference: w.difference, interval: w.interval, pValue: w.pValue };
    }
    comparison.margin = marginOf.get(`${a}|${b}`) ?? null;
    compared.push(comparison);
  }
  const comparisons = decideVersion(compared, guardrails, srm);
  const pooled =
    definition.holdout > 0 && definition.variants.length > 1
      ? compare(
          poolArms(
            'any email',
            definition.variants.map((v) => sample(v.key)),
          ),
          sample('holdout'),
          'holdout',
        )
      : null;
  /** Every variant's margin pooled against the holdout's; null when any of them is unknown. */
  function anyEmailMargin(): MarginComparison | null {
    const variants = definition.variants.map((v) => marginSample(v.key));
    const holdout = marginSample('holdout');
    if (!holdout || variants.some((m) => m === null)) return null;
    const pooledMargin = compare(poolArms('any email', variants as ArmOutcome[]), holdout, 'holdout', 'margin');
    return marginComparison(decideVersion([pooledMargin], new Map(), srm)[0]!);
  }
  const anyEmail = pooled
    ? {
        ...decideVersion([pooled], guardrails, srm)[0]!,
        kpis: compareKpis(
          poolMoments(
            'any email',
            definition.variants.map((v) => moments(v.key)),
          ),
          moments('holdout'),
        ),
        margin: anyEmailMargin(),
      }
    : null;
  const cap = outcomes.find((o) => o.cap !== null)?.cap ?? null;

  return {
    versionId: v.id,
    version: v.version,
    live: v.live,
    createdAt: new Date(v.created_at).toISOString(),
    measurementWindowDays: windowMs / 86_400_000,
    control,
    arms,
    srm,
    comparisons,
    anyEmail,
    winsorized: options.winsorize === undefined ? null : { percentile: options.winsorize, cap: cap === null ? null : round(cap) },
    breakdown: breakdown(
      cells,
      pairs.map(([arm, baseline, against]) => ({ arm, baseline, against })),
    ),
  };
}

/** The arm's margin from its outcome row; null when a product bought had no cost and no default margin was set. */
function armMargin(o: OutcomeRow | undefined): ArmMargin | null {
  if (o && o.uncosted > 0) return null;
  const n = o?.n ?? 0;
  const cogs = Number(o?.cogs ?? 0);
  return {
    total: round(Number(o?.margin ?? 0)),
    perCustomer: n > 0 ? (o?.mean_m ?? null) : null,
    perCustomerInterval: meanInterval({ n, mean: o?.mean_m ?? NaN, variance: o?.var_m ?? NaN }),
    assumedCostShare: cogs > 0 ? Number(o?.assumed ?? 0) / cogs : null,
  };
}

/** The margin block of a comparison from the comparison of margin per customer: Welch, CUPED, always-valid interval and verdict. */
function marginComparison(c: Comparison): MarginComparison {
  return {
    metric: 'margin',
    ...c.revenuePerCustomer,
    cuped: c.cuped,
    sequential: { interval: c.sequential.interval, verdict: c.sequential.verdict },
    adjustedPValue: c.adjustedPValue,
    verdict: c.verdict,
    summary: c.summary,
  };
}

function templateOf(definition: SequenceDefinition, arm: string, name: string): string {
  return definition.variants.find((v) => v.key === arm)?.templates[name] ?? name;
}

function funnel(rows: FunnelRow[]): Funnel {
  const sum = (pick: (row: FunnelRow) => number) => rows.reduce((total, row) => total + Number(pick(row)), 0);
  const sent = sum((r) => r.sent);
  const bounced = sum((r) => r.bounced);
  const delivered = sent - bounced;
  const conversions = sum((r) => r.conversions);
  const attributedRevenue = round(sum((r) => r.revenue));
  return {
    sent,
    delivered,
    bounced,
    opens: { human: sum((r) => r.human_opens), raw: sum((r) => r.raw_opens) },
    clicks: { human: sum((r) => r.human_clicks), raw: sum((r) => r.raw_clicks) },
    unsubscribes: sum((r) => r.unsubscribes),
    complaints: sum((r) => r.complaints),
    conversions,
    attributedRevenue,
    revenuePerRecipient: delivered > 0 ? round(attributedRevenue / delivered) : null,
    averageOrderValue: conversions > 0 ? round(attributedRevenue / conversions) : null,
  };
}

/** Money to 4 decimals, as stored. */
function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
