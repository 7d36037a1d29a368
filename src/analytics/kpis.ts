/**
 * The offer KPIs' SQL: per arm, the moments src/core/kpis.ts turns into acceptance,
 * recommended revenue, order value, items per order and repeat rate; per step, the delivered
 * emails whose recipient bought what they offered. Run by the report (./report.ts) inside
 * its read-only snapshot, on the same measured units as the report's outcome rows
 * (./cohort.ts `customerUnits`): the same window, as-of, `enrolledFrom`, trigger order
 * excluded, cancelled orders no orders, revenue net of the refunds made by as-of.
 *
 * What was offered to a customer (src/core/offers.ts): per step of their enrollment, the
 * skus the sent email showed (`messages.recommendations`, the cross-sells, and
 * `messages.upsells`) when that step's email was sent by as-of, else what the step would
 * have offered (`enrollments.offered[step]`, computed at enrollment for every arm, the
 * holdout too). So every arm is counted on the same footing: the holdout is measured
 * against what it would have been shown. An enrollment whose `offered` is null (made before
 * offers were kept) counts only its sent emails' skus.
 */
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { REPEAT_HORIZON_DAYS, type KpiMoments } from '../core/kpis.ts';
import type { Db } from '../db/client.ts';
import { parsedRows } from '../store/rows.ts';
import { offeredSkus, offerOrders } from '../store/outcomes.ts';
import { customerUnits, rollupUnits } from './cohort.ts';

const count = z.coerce.number().int();
const number = z.coerce.number();
/** avg and var_samp are null over no row (or one, for the variance): NaN, never 0. */
const moment = z.coerce
  .number()
  .nullable()
  .transform((v) => v ?? NaN);

const kpiRow = z.object({
  arm: z.string(),
  n: count,
  accepted_cross: count,
  accepted_up: count,
  accepted_any: count,
  rec_total: number,
  rec_mean: moment,
  rec_var: moment,
  rev: number,
  rev_sq: number,
  ord: number,
  ord_sq: number,
  rev_ord: number,
  items: number,
  items_sq: number,
  items_ord: number,
  offer_rev: number,
  offer_rev_sq: number,
  offer_ord: number,
  offer_ord_sq: number,
  offer_rev_ord: number,
  horizon_n: count,
  repeated: count,
});

export interface KpiOptions {
  /** Only customers enrolled at or after this time (an ISO time, or '-infinity'). */
  from: string;
  windowMs: number;
  asOf: Date;
  /** Another order within this many days of enrolling is a repeat; default 90. */
  repeatHorizonDays?: number | undefined;
  /** Read the per-enrollment rollup (the report says when it serves); else the raw rows. */
  rollup?: boolean | undefined;
}

/**
 * Per arm of a version, the moments of the offer KPIs over its measured customers, and the
 * repeat counts over its customers whose repeat horizon has closed by as-of.
 *
 * Why it is correct, CTE by CTE:
 * - `unit`: the report's units (first enrollment per customer), `measured` and whether the
 *   repeat horizon has closed by as-of;
 * - `sent_step`: the measured units' emails sent by as-of, with the skus each showed;
 * - `offer`: one row per (unit, sku) offered, with whether it was offered as a cross-sell,
 *   as an upsell (or both, at different steps): the sent emails' skus, and `offered[step]`
 *   for the steps with no email sent by as-of (`with ordinality` is 1-based, steps 0-based);
 * - `bought`: each measured unit's orders in its window (the trigger order excluded,
 *   cancelled orders left out), with the order's total and its net revenue as of as-of;
 * - `per_order`: each such order's items, whether it holds an offered cross-sell, upsell,
 *   either, and the revenue of its offered lines, a partial refund spread over the lines in
 *   proportion to their totals (line × net / total); left joins keep an order with no lines;
 * - `per_unit`: each measured customer's sums (revenue, orders, items, recommended revenue,
 *   revenue and number of orders with an offered product) and acceptance flags, zeros for a
 *   customer who bought nothing;
 * - `repeat`: per arm, the units whose horizon has closed and those with another
 *   (uncancelled) order within it;
 * - the last select reduces `per_unit` to per-arm sums, squares and cross-products, which
 *   is all the delta method needs (src/core/ratio.ts), so no order travels to Node.
 */
export async function kpiMoments(db: Db, versionId: number, options: KpiOptions): Promise<KpiMoments[]> {
  const rows = await parsedRows(db, options.rollup ? rollupKpis(versionId, options) : rawKpis(versionId, options), kpiRow);
  return rows.map((r): KpiMoments => ({
    arm: r.arm,
    n: r.n,
    accepted: { crossSell: r.accepted_cross, upsell: r.accepted_up, any: r.accepted_any },
    recommendedRevenue: { n: r.n, mean: r.rec_mean, variance: r.rec_var, total: r.rec_total },
    orderValue: { n: r.n, sumX: r.rev, sumY: r.ord, sumXX: r.rev_sq, sumYY: r.ord_sq, sumXY: r.rev_ord },
    itemsPerOrder: { n: r.n, sumX: r.items, sumY: r.ord, sumXX: r.items_sq, sumYY: r.ord_sq, sumXY: r.items_ord },
    offerOrderValue: {
      n: r.n,
      sumX: r.offer_rev,
      sumY: r.offer_ord,
      sumXX: r.offer_rev_sq,
      sumYY: r.offer_ord_sq,
      sumXY: r.offer_rev_ord,
    },
    repeat: { n: r.horizon_n, repeated: r.repeated },
  }));
}

/** {@link kpiMoments} from the raw rows (see its comment, CTE by CTE). */
function rawKpis(versionId: number, options: KpiOptions): SQL {
  const at = sql`${options.asOf.toISOString()}::timestamptz`;
  const window = sql`${options.windowMs} * interval '1 millisecond'`;
  const horizon = sql`${options.repeatHorizonDays ?? REPEAT_HORIZON_DAYS} * interval '1 day'`;
  return sql`with unit as materialized (
        select u.id, u.customer_id, u.arm, u.enrolled_at, u.trigger_order_id, u.measured,
               u.enrolled_at + ${horizon} <= ${at} as horizon_closed
        from (${customerUnits(versionId, options)}) u
      ), sent_step as materialized (
        select m.enrollment_id as unit, m.step, m.recommendations, m.upsells
        from unit u join messages m on m.enrollment_id = u.id
        where u.measured and m.state = 'sent' and m.sent_at <= ${at}
      ), offer as (${offeredSkus(sql`(select id from unit where measured)`, sql`sent_step`)}
      ), bought as materialized (
        select u.id as unit, o.id as order_id, o.total, greatest(o.total - coalesce(rf.amount, 0), 0) as net
        from unit u join orders o on o.customer_id = u.customer_id and o.id <> u.trigger_order_id
             and o.ordered_at > u.enrolled_at and o.ordered_at <= u.enrolled_at + ${window} and o.cancelled_at is null
        left join lateral (select sum(r.amount) as amount from refunds r
                           where r.order_id = o.id and r.refunded_at <= ${at}) rf on true
        where u.measured
      ), per_order as (${offerOrders(sql`bought`, sql`offer`)}
      ), per_unit as (
        select u.id, u.arm,
               coalesce(sum(po.net), 0)::float8 as revenue,
               count(po.order_id)::float8 as orders,
               coalesce(sum(po.items), 0)::float8 as items,
               coalesce(sum(po.recommended), 0)::float8 as recommended,
               coalesce(sum(po.net) filter (where po.has_offer), 0)::float8 as offer_revenue,
               count(po.order_id) filter (where po.has_offer)::float8 as offer_orders,
               coalesce(bool_or(po.has_cross), false) as accepted_cross,
               coalesce(bool_or(po.has_up), false) as accepted_up,
               coalesce(bool_or(po.has_offer), false) as accepted_any
        from unit u left join per_order po on po.unit = u.id
        where u.measured
        group by u.id, u.arm
      ), arm_sums as (
        select arm, count(*)::int as n,
               count(*) filter (where accepted_cross)::int as accepted_cross,
               count(*) filter (where accepted_up)::int as accepted_up,
               count(*) filter (where accepted_any)::int as accepted_any,
               sum(recommended) as rec_total, avg(recommended) as rec_mean, var_samp(recommended) as rec_var,
               sum(revenue) as rev, sum(revenue * revenue) as rev_sq, sum(orders) as ord, sum(orders * orders) as ord_sq,
               sum(revenue * orders) as rev_ord,
               sum(items) as items, sum(items * items) as items_sq, sum(items * orders) as items_ord,
               sum(offer_revenue) as offer_rev, sum(offer_revenue * offer_revenue) as offer_rev_sq,
               sum(offer_orders) as offer_ord, sum(offer_orders * offer_orders) as offer_ord_sq,
               sum(offer_revenue * offer_orders) as offer_rev_ord
        from per_unit group by arm
      ), repeat as (
        select u.arm, count(*)::int as horizon_n,
               count(*) filter (where exists (
                 select 1 from orders o where o.customer_id = u.customer_id and o.id <> u.trigger_order_id and o.cancelled_at is null
                   and o.ordered_at > u.enrolled_at and o.ordered_at <= u.enrolled_at + ${horizon}))::int as repeated
        from unit u where u.horizon_closed group by u.arm
      )
      select coalesce(a.arm, r.arm) as arm, coalesce(a.n, 0) as n,
             coalesce(a.accepted_cross, 0) as accepted_cross, coalesce(a.accepted_up, 0) as accepted_up,
             coalesce(a.accepted_any, 0) as accepted_any,
             coalesce(a.rec_total, 0) as rec_total, a.rec_mean, a.rec_var,
             coalesce(a.rev, 0) as rev, coalesce(a.rev_sq, 0) as rev_sq, coalesce(a.ord, 0) as ord,
             coalesce(a.ord_sq, 0) as ord_sq, coalesce(a.rev_ord, 0) as rev_ord,
             coalesce(a.items, 0) as items, coalesce(a.items_sq, 0) as items_sq, coalesce(a.items_ord, 0) as items_ord,
             coalesce(a.offer_rev, 0) as offer_rev, coalesce(a.offer_rev_sq, 0) as offer_rev_sq,
             coalesce(a.offer_ord, 0) as offer_ord, coalesce(a.offer_ord_sq, 0) as offer_ord_sq,
             coalesce(a.offer_rev_ord, 0) as offer_rev_ord,
             coalesce(r.horizon_n, 0) as horizon_n, coalesce(r.repeated, 0) as repeated
      from arm_sums a full join repeat r on r.arm = a.arm`;
}

/**
 * {@link kpiMoments} from the per-enrollment rollup (src/store/outcomes.ts): each unit's offer
 * figures are columns of its row (`rollupUnits`), so the arm's sums are one pass over them.
 * The rows count every sent email's skus and net every refund: exact when no email was sent
 * and no refund made after as-of (the report checks). Repeated: the first other order after
 * enrolling (`next_order_at`) inside the horizon, so any horizon reads the same rows. An arm
 * shows when it has a measured unit or one whose horizon has closed, as in the raw query.
 */
function rollupKpis(versionId: number, options: KpiOptions): SQL {
  const at = sql`${options.asOf.toISOString()}::timestamptz`;
  const horizon = sql`${options.repeatHorizonDays ?? REPEAT_HORIZON_DAYS} * interval '1 day'`;
  return sql`with u as (
      select arm, measured, enrolled_at + ${horizon} <= ${at} as horizon_closed, next_order_at <= enrolled_at + ${horizon} as repeated,
             y as revenue, orders::float8 as orders, items::float8 as items, recommended::float8 as recommended,
             offer_revenue::float8 as offer_revenue, offer_orders::float8 as offer_orders, accepted_cross, accepted_up, accepted_any
      from (${rollupUnits(versionId, options)}) r
      -- Each conversion once per unit, not once per aggregate that reads it (see rollupUnits).
      offset 0
    )
    select arm, count(*) filter (where measured)::int as n,
           count(*) filter (where measured and accepted_cross)::int as accepted_cross,
           count(*) filter (where measured and accepted_up)::int as accepted_up,
           count(*) filter (where measured and accepted_any)::int as accepted_any,
           coalesce(sum(recommended) filter (where measured), 0) as rec_total,
           avg(recommended) filter (where measured) as rec_mean, var_samp(recommended) filter (where measured) as rec_var,
           coalesce(sum(revenue) filter (where measured), 0) as rev, coalesce(sum(revenue * revenue) filter (where measured), 0) as rev_sq,
           coalesce(sum(orders) filter (where measured), 0) as ord, coalesce(sum(orders * orders) filter (where measured), 0) as ord_sq,
           coalesce(sum(revenue * orders) filter (where measured), 0) as rev_ord,
           coalesce(sum(items) filter (where measured), 0) as items, coalesce(sum(items * items) filter (where measured), 0) as items_sq,
           coalesce(sum(items * orders) filter (where measured), 0) as items_ord,
           coalesce(sum(offer_revenue) filter (where measured), 0) as offer_rev,
           coalesce(sum(offer_revenue * offer_revenue) filter (where measured), 0) as offer_rev_sq,
           coalesce(sum(offer_orders) filter (where measured), 0) as offer_ord,
           coalesce(sum(offer_orders * offer_orders) filter (where measured), 0) as offer_ord_sq,
           coalesce(sum(offer_revenue * offer_orders) filter (where measured), 0) as offer_rev_ord,
           count(*) filter (where horizon_closed)::int as horizon_n, count(*) filter (where horizon_closed and repeated)::int as repeated
    from u group by arm
    having count(*) filter (where measured or horizon_closed) > 0`;
}

const stepRow = z.object({ arm: z.string(), step: z.number().int(), accepted: count });

/**
 * Per arm and step of a version: the delivered emails (sent by as-of, of enrollments from
 * `from`, not bounced as of as-of: the funnel's `delivered`) whose recipient then bought one
 * of the products that email offered (its cross-sells or upsells): an uncancelled order,
 * not the trigger order, placed after the send, within the sequence's measurement window
 * from enrolling, and by as-of. `engagement` is ./as-of.ts's table for as-of, which reads
 * the `sent` CTE; an email counts once however many such orders follow it.
 */
export async function stepAcceptance(
  db: Db,
  versionId: number,
  options: { from: string; windowMs: number; asOf: Date; engagement: SQL },
): Promise<{ arm: string; step: number; accepted: number }[]> {
  const at = sql`${options.asOf.toISOString()}::timestamptz`;
  return parsedRows(
    db,
    sql`with sent as materialized (
          select m.id, e.arm, m.step, m.customer_id, m.sent_at, e.trigger_order_id, m.recommendations, m.upsells,
                 e.enrolled_at + ${options.windowMs} * interval '1 millisecond' as window_end
          from messages m join enrollments e on e.id = m.enrollment_id
          where e.sequence_version_id = ${versionId} and m.state = 'sent' and e.enrolled_at >= ${options.from}::timestamptz
            and m.sent_at <= ${at}
        )
        select s.arm, s.step,
               count(*) filter (where exists (
                 select 1 from orders o join order_items oi on oi.order_id = o.id join products p on p.id = oi.product_id
                 where o.customer_id = s.customer_id and o.id <> s.trigger_order_id and o.cancelled_at is null
                   and o.ordered_at > s.sent_at and o.ordered_at <= s.window_end and o.ordered_at <= ${at}
                   and (s.recommendations @> jsonb_build_array(p.sku) or s.upsells @> jsonb_build_array(p.sku))))::int as accepted
        from sent s left join ${options.engagement} t on t.message_id = s.id
        where not coalesce(t.bounced, false)
        group by s.arm, s.step`,
    stepRow,
  );
}
