/**
 * What the dashboard shows beyond the report: a daily trend, the cumulative revenue curve
 * per arm, clicks and revenue per recommendation slot, and the sequence's version history.
 * Every figure that is also in the report comes from the report itself (src/analytics).
 */
import { sql } from 'drizzle-orm';
import { attributionKey, type AttributionModel } from '../core/attribution.ts';
import { measurementWindowMs, type SequenceDefinition } from '../core/sequence.ts';
import { queryRows, type Db } from '../db/client.ts';
import { customerUnits } from '../analytics/report.ts';

export interface TrendPoint {
  day: string;
  sequence: string;
  sent: number;
}

/** Emails sent per day and sequence since `from`. */
export async function sentPerDay(db: Db, from: Date): Promise<TrendPoint[]> {
  return queryRows<TrendPoint>(
    db,
    sql`select to_char(date_trunc('day', m.sent_at), 'YYYY-MM-DD') as day, e.sequence_id as sequence, count(*)::int as sent
        from messages m join enrollments e on e.id = m.enrollment_id
        where m.state = 'sent' and m.sent_at >= ${from.toISOString()}::timestamptz
        group by 1, 2 order by 1`,
  );
}

export interface CurvePoint {
  arm: string;
  /** Days since enrolling. */
  day: number;
  /** Cumulative revenue per measured customer up to that day. */
  value: number;
}

/**
 * Cumulative revenue per enrolled customer by day since enrolling, per arm, over the
 * customers whose window has closed: the same orders and customers as the report's
 * measured view, so the last point of each arm is its revenue per customer.
 */
export async function cumulativeRevenue(db: Db, versionId: number, definition: SequenceDefinition, asOf: Date, from?: Date): Promise<CurvePoint[]> {
  const windowMs = measurementWindowMs(definition);
  const window = sql`${windowMs} * interval '1 millisecond'`;
  const rows = await queryRows<{ arm: string; day: number | null; revenue: number; customers: number }>(
    db,
    sql`with measured as (
          select e.id, e.arm, e.customer_id, e.enrolled_at, e.trigger_order_id
          from (${customerUnits(versionId, { from: (from ?? new Date(0)).toISOString(), windowMs, asOf })}) e
          where e.measured
        )
        select m.arm, floor(extract(epoch from o.ordered_at - m.enrolled_at) / 86400)::int as day,
               coalesce(sum(o.total), 0)::float8 as revenue,
               (select count(*)::int from measured x where x.arm = m.arm) as customers
        from measured m
        left join orders o on o.customer_id = m.customer_id and o.id <> m.trigger_order_id
             and o.ordered_at > m.enrolled_at and o.ordered_at <= m.enrolled_at + ${window}
        group by 1, 2`,
  );
  const days = Math.ceil(windowMs / 86_400_000);
  const arms = [...definition.variants.map((v) => v.key), ...(definition.holdout > 0 ? ['holdout'] : [])];
  const points: CurvePoint[] = [];
  for (const arm of arms) {
    const ofArm = rows.filter((r) => r.arm === arm);
    const customers = ofArm[0]?.customers ?? 0;
    let total = 0;
    for (let day = 0; day < days; day++) {
      total += ofArm.filter((r) => r.day === day).reduce((sum, r) => sum + r.revenue, 0);
      points.push({ arm, day: day + 1, value: customers ? total / customers : 0 });
    }
  }
  return points;
}

export interface SlotRow {
  /** 1-based position of the recommendation in the email. */
  slot: number;
  clicks: number;
  orders: number;
  revenue: number;
}

/** Human clicks on each recommendation slot, and the orders and revenue attributed to those clicks. */
export async function slotPerformance(db: Db, versionId: number, model: AttributionModel, from?: Date): Promise<SlotRow[]> {
  return queryRows<SlotRow>(
    db,
    sql`with clicks as (
          select ev.id, ev.message_id, ev.occurred_at,
                 (select r.ord from jsonb_array_elements_text(m.recommendations) with ordinality r(sku, ord)
                   join products p on p.sku = r.sku where p.url = m.links ->> ev.link_index limit 1)::int as slot
          from events ev join messages m on m.id = ev.message_id join enrollments e on e.id = m.enrollment_id
          where e.sequence_version_id = ${versionId} and ev.type = 'click' and ev.is_human
            and e.enrolled_at >= ${(from ?? new Date(0)).toISOString()}::timestamptz
        )
        select c.slot, count(*)::int as clicks, count(a.order_id)::int as orders, coalesce(sum(o.total), 0)::float8 as revenue
        from clicks c
        left join attributions a on a.message_id = c.message_id and a.touch = 'click' and a.touched_at = c.occurred_at and a.model = ${attributionKey(model)}
        left join orders o on o.id = a.order_id
        where c.slot is not null
        group by c.slot order by c.slot`,
  );
}

export interface VersionRow {
  version: number;
  yaml: string;
  created_at: Date;
  live: boolean;
  enrolled: number;
}

export async function versionHistory(db: Db, sequenceId: string): Promise<VersionRow[]> {
  return queryRows<VersionRow>(
    db,
    sql`select v.version, v.yaml, v.created_at, v.id = s.live_version_id as live,
               (select count(*)::int from enrollments e where e.sequence_version_id = v.id) as enrolled
        from sequence_versions v join sequences s on s.id = v.sequence_id
        where v.sequence_id = ${sequenceId} order by v.version desc`,
  );
}

export async function liveDefinition(db: Db, sequenceId: string): Promise<{ versionId: number; definition: SequenceDefinition } | undefined> {
  const [row] = await queryRows<{ id: number; definition: SequenceDefinition }>(
    db,
    sql`select v.id, v.definition from sequences s join sequence_versions v on v.id = s.live_version_id where s.id = ${sequenceId}`,
  );
  return row && { versionId: row.id, definition: row.definition };
}
