/**
 * What the dashboard shows beyond the report: a daily trend, the cumulative revenue curve
 * per arm, clicks and revenue per recommendation slot, and a sequence's live definition and
 * version history. Every figure that is also in the report comes from the report itself
 * (./report.ts); these are the series and lists around it.
 *
 * The raw statements' rows go through a zod schema (src/store/rows.ts), so a renamed column
 * fails here instead of reaching a page as `undefined`.
 */
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { attributionKey, type AttributionModel } from '../core/attribution.ts';
import { measurementWindowMs, type SequenceDefinition, type StoredDefinition } from '../core/sequence.ts';
import { meanInterval } from '../core/stats.ts';
import type { Db } from '../db/client.ts';
import { sequences, sequenceVersions } from '../db/schema.ts';
import { parsedRows } from '../store/rows.ts';
import { customerUnits } from './report.ts';

const trendRow = z.object({ day: z.string(), sequence: z.string(), sent: z.number().int() });
export type TrendPoint = z.output<typeof trendRow>;

/**
 * Emails sent per day (in `timeZone`, the shop's) and sequence since `from`, in day order.
 * Only messages in state `sent` count, by their `sent_at`: a queued or failed message was
 * never in an inbox. Days without a send are absent here; {@link everyDay} fills the axis.
 */
export async function sentPerDay(db: Db, from: Date, timeZone: string): Promise<TrendPoint[]> {
  return parsedRows(
    db,
    sql`select to_char(date_trunc('day', m.sent_at at time zone ${timeZone}), 'YYYY-MM-DD') as day, e.sequence_id as sequence,
               count(*)::int as sent
        from messages m join enrollments e on e.id = m.enrollment_id
        where m.state = 'sent' and m.sent_at >= ${from.toISOString()}::timestamptz
        group by 1, 2 order by 1`,
    trendRow,
  );
}

/** Every calendar day (YYYY-MM-DD in `timeZone`) from `from` to `to`, both included. */
export function everyDay(from: Date, to: Date, timeZone: string): string[] {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const first = day.format(from);
  const last = day.format(to);
  const days: string[] = [];
  // Step through UTC noons of the calendar dates: no time zone offset moves them a day.
  for (let t = Date.parse(`${first}T12:00:00Z`); ; t += 86_400_000) {
    const d = new Date(t).toISOString().slice(0, 10);
    if (d > last) break;
    days.push(d);
  }
  return days;
}

export interface CurvePoint {
  arm: string;
  /** Days since enrolling. */
  day: number;
  /** Cumulative revenue per measured customer up to that day. */
  value: number;
  /** The 95% t interval of that mean; null under two measured customers. */
  interval: [number, number] | null;
  /** Measured customers of the arm. */
  customers: number;
}

/** Revenue of one measured enrollment on one day since enrolling; `day` is null for one without orders. */
const curveRow = z.object({
  arm: z.string(),
  unit: z.number().int(),
  day: z.number().int().nullable(),
  revenue: z.number(),
});

/**
 * The cumulative revenue per measured customer, per arm and day since enrolling, with its
 * 95% interval: the measured view of the report (every order in each customer's window, net
 * of refunds by `asOf`, cancelled orders excluded), drawn over the window.
 */
export async function cumulativeRevenue(
  db: Db,
  versionId: number,
  definition: SequenceDefinition,
  asOf: Date,
  from?: Date,
): Promise<CurvePoint[]> {
  const windowMs = measurementWindowMs(definition);
  const window = sql`${windowMs} * interval '1 millisecond'`;
  const rows = await parsedRows(
    db,
    sql`with measured as (
          select e.id, e.arm, e.customer_id, e.enrolled_at, e.trigger_order_id
          from (${customerUnits(versionId, { from: (from ?? new Date(0)).toISOString(), windowMs, asOf })}) e
          where e.measured
        )
        select m.arm, m.id::int as unit, floor(extract(epoch from o.ordered_at - m.enrolled_at) / 86400)::int as day,
               coalesce(sum(greatest(o.total - coalesce(rf.amount, 0), 0)), 0)::float8 as revenue
        from measured m
        left join orders o on o.customer_id = m.customer_id and o.id <> m.trigger_order_id
             and o.ordered_at > m.enrolled_at and o.ordered_at <= m.enrolled_at + ${window} and o.cancelled_at is null
        left join lateral (select sum(r.amount) as amount from refunds r
                           where r.order_id = o.id and r.refunded_at <= ${asOf.toISOString()}::timestamptz) rf on true
        group by 1, 2, 3`,
    curveRow,
  );
  const days = Math.ceil(windowMs / 86_400_000);
  const arms = [...definition.variants.map((v) => v.key), ...(definition.holdout > 0 ? ['holdout'] : [])];
  return arms.flatMap((arm) =>
    cumulativeCurve(
      rows.filter((r) => r.arm === arm),
      arm,
      days,
    ),
  );
}

/**
 * One arm's curve from its units' revenue by day: the mean of each unit's running total and
 * its t interval, kept by running sums (a unit's total changes only on a day it buys).
 */
function cumulativeCurve(rows: z.output<typeof curveRow>[], arm: string, days: number): CurvePoint[] {
  const customers = new Set(rows.map((r) => r.unit)).size;
  const byDay = new Map<number, { unit: number; revenue: number }[]>();
  for (const r of rows) {
    if (r.day === null || r.revenue === 0) continue;
    const day = byDay.get(r.day);
    if (day) day.push(r);
    else byDay.set(r.day, [r]);
  }
  const totals = new Map<number, number>();
  let sum = 0;
  let squares = 0;
  const points: CurvePoint[] = [];
  for (let day = 0; day < days; day++) {
    for (const { unit, revenue } of byDay.get(day) ?? []) {
      const before = totals.get(unit) ?? 0;
      totals.set(unit, before + revenue);
      sum += revenue;
      squares += (before + revenue) ** 2 - before ** 2;
    }
    const mean = customers ? sum / customers : 0;
    const variance = customers > 1 ? Math.max(0, (squares - customers * mean * mean) / (customers - 1)) : NaN;
    points.push({ arm, day: day + 1, value: mean, interval: meanInterval({ n: customers, mean, variance }), customers });
  }
  return points;
}

const slotRow = z.object({
  /** 1-based position of the recommendation in the email. */
  slot: z.number().int(),
  clicks: z.number().int(),
  orders: z.number().int(),
  revenue: z.number(),
});
export type SlotRow = z.output<typeof slotRow>;

/**
 * Human clicks on each recommendation slot of a version's emails (customers enrolled since
 * `from`), and the orders and revenue the attribution `model` credits to those very clicks.
 * A click's slot is the position of the recommended SKU whose product URL is the clicked
 * link; a click on any other link has no slot and is left out. Revenue is net of every
 * refund stored; a cancelled order is credited to no click.
 */
export async function slotPerformance(db: Db, versionId: number, model: AttributionModel, from?: Date): Promise<SlotRow[]> {
  return parsedRows(
    db,
    sql`with clicks as (
          select ev.id, ev.message_id, ev.occurred_at,
                 (select r.ord from jsonb_array_elements_text(m.recommendations) with ordinality r(sku, ord)
                   join products p on p.sku = r.sku where p.url = m.links ->> ev.link_index limit 1)::int as slot
          from events ev join messages m on m.id = ev.message_id join enrollments e on e.id = m.enrollment_id
          where e.sequence_version_id = ${versionId} and ev.type = 'click' and ev.is_human
            and e.enrolled_at >= ${(from ?? new Date(0)).toISOString()}::timestamptz
        )
        select c.slot, count(*)::int as clicks, count(a.order_id)::int as orders,
               coalesce(sum(greatest(a.total - coalesce(rf.amount, 0), 0)), 0)::float8 as revenue
        from clicks c
        left join (select a.order_id, a.message_id, a.touch, a.touched_at, o.total
                   from attributions a join orders o on o.id = a.order_id and o.cancelled_at is null
                   where a.model = ${attributionKey(model)}) a
             on a.message_id = c.message_id and a.touch = 'click' and a.touched_at = c.occurred_at
        left join lateral (select sum(r.amount) as amount from refunds r where r.order_id = a.order_id) rf on true
        where c.slot is not null
        group by c.slot order by c.slot`,
    slotRow,
  );
}

const versionRow = z.object({
  version: z.number().int(),
  yaml: z.string(),
  // A Date from node-postgres and PGlite alike; coerced so either driver's form passes.
  created_at: z.coerce.date(),
  live: z.boolean(),
  enrolled: z.number().int(),
});
export type VersionRow = z.output<typeof versionRow>;

/**
 * Every version of a sequence, newest first, with its YAML as written, whether it is the
 * live one, and how many enrollments it has (all of them, whatever their period).
 */
export async function versionHistory(db: Db, sequenceId: string): Promise<VersionRow[]> {
  return parsedRows(
    db,
    sql`select v.version, v.yaml, v.created_at, v.id = s.live_version_id as live,
               (select count(*)::int from enrollments e where e.sequence_version_id = v.id) as enrolled
        from sequence_versions v join sequences s on s.id = v.sequence_id
        where v.sequence_id = ${sequenceId} order by v.version desc`,
    versionRow,
  );
}

/**
 * The live version of a sequence, its definition and the sequence's status, or undefined when there is no such
 * sequence (or it has no live version yet). Paused sequences count: their pages still show.
 */
export async function liveDefinition(
  db: Db,
  sequenceId: string,
): Promise<{ versionId: number; definition: StoredDefinition; status: string } | undefined> {
  const [row] = await db
    .select({ id: sequenceVersions.id, definition: sequenceVersions.definition, status: sequences.status })
    .from(sequences)
    .innerJoin(sequenceVersions, eq(sequenceVersions.id, sequences.liveVersionId))
    .where(eq(sequences.id, sequenceId));
  // The column holds what sequenceSchema produced when the version was applied (versions
  // are immutable), so it is read back as that type, as the enrollment worker reads it.
  return row && { versionId: row.id, definition: row.definition, status: row.status };
}
