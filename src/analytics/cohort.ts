/**
 * The units of the comparison, shared by the report, its guardrails, the dashboard's series
 * and the demo's truth: one row per customer of a version.
 */
import { sql, type SQL } from 'drizzle-orm';

/**
 * The units of the comparison: the customer, as randomised, by their first enrollment in
 * the version (a customer enrolled again, after `reenroll_after_days`, is not a second
 * independent unit, and overlapping windows would count an order twice), enrolled from
 * `from` and by `asOf` (a report as of a past time counts no later customer), with
 * `measured` true once their window has closed by `asOf`.
 */
export function customerUnits(versionId: number, options: { from: string; windowMs: number; asOf: Date }): SQL {
  return sql`select distinct on (customer_id) id, customer_id, arm, enrolled_at, trigger_order_id, pre_spend,
                    enrolled_at + ${options.windowMs} * interval '1 millisecond' <= ${options.asOf.toISOString()}::timestamptz as measured
             from enrollments where sequence_version_id = ${versionId} and enrolled_at >= ${options.from}::timestamptz
               and enrolled_at <= ${options.asOf.toISOString()}::timestamptz
             order by customer_id, enrolled_at, id`;
}

/**
 * The orders that count for a unit `e` (customerUnits' columns): the customer's orders after
 * enrolling and inside the window, the trigger and cancelled orders left out, each as `o` with
 * the refunds made by as-of summed as `rf.amount`. With {@link NET_WINDOW_REVENUE} in a query
 * grouped by unit: the revenue every comparison measures.
 */
export function windowOrders(options: { windowMs: number; asOf: Date }): SQL {
  return sql`left join orders o on o.customer_id = e.customer_id and o.id <> e.trigger_order_id
               and o.ordered_at > e.enrolled_at and o.ordered_at <= e.enrolled_at + ${options.windowMs} * interval '1 millisecond'
               and o.cancelled_at is null
             left join lateral (select sum(r.amount) as amount from refunds r
                                where r.order_id = o.id and r.refunded_at <= ${options.asOf.toISOString()}::timestamptz) rf on true`;
}

/** A unit's window revenue over {@link windowOrders}: each order's total net of its refunds, never below 0. */
export const NET_WINDOW_REVENUE = sql`coalesce(sum(greatest(o.total - coalesce(rf.amount, 0), 0)), 0)::float8`;

/** The columns of {@link rollupUnits}, each as it reads from `enrollment_outcomes` as of `at`. */
function unitColumns(at: SQL) {
  const plain = [
    'customer_id',
    'arm',
    'enrolled_at',
    'pre_spend',
    'orders',
    'margin',
    'cogs',
    'uncosted',
    'segment',
    'repeat_buyer',
    'items',
    'recommended',
    'offer_revenue',
    'offer_orders',
    'accepted_cross',
    'accepted_up',
    'accepted_any',
    'next_order_at',
    'later_unsubscribed',
    'later_complained',
    'later_bounced',
  ] as const;
  return {
    id: sql`enrollment_id as id`,
    measured: sql`window_end <= ${at} as measured`,
    y: sql`revenue::float8 as y`,
    ...(Object.fromEntries(plain.map((name) => [name, sql.raw(name)])) as Record<(typeof plain)[number], SQL>),
  };
}

/** A column of {@link rollupUnits}. */
export type UnitColumn = keyof ReturnType<typeof unitColumns>;

/**
 * {@link customerUnits} read from the report's per-enrollment rollup (src/store/outcomes.ts):
 * the same units (first enrollment per customer in the version, from `from`, by `asOf`) with
 * the same `measured`, and the rollup's columns (`y` the window revenue as float8, as
 * {@link NET_WINDOW_REVENUE} gives it). Exact when no refund is later than `asOf` (the rollup
 * nets every refund; the report checks, see report.ts `rollupServes`).
 */
export function rollupUnits(versionId: number, options: { from: string; asOf: Date }, only?: readonly UnitColumn[]): SQL {
  const at = sql`${options.asOf.toISOString()}::timestamptz`;
  const expressions = unitColumns(at);
  // `only`: the columns a reader needs, when it needs few (behind the fence, every listed column is computed).
  const columns = sql.join(
    (only ?? (Object.keys(expressions) as UnitColumn[])).map((name) => expressions[name]),
    sql`, `,
  );
  // From the first enrollment on, the unit is the customer's first: kept as a flag, so no sort.
  // `offset 0` keeps the query from being folded into its readers: folded, each reference to
  // `y` (and to their own conversions) converted the numeric again, and numeric to float8
  // goes through text in Postgres; a fifth of the outcome query's time at the bench's size.
  if (options.from === '-infinity')
    return sql`select ${columns} from enrollment_outcomes
               where sequence_version_id = ${versionId} and first_in_version and enrolled_at <= ${at} offset 0`;
  return sql`select distinct on (customer_id) ${columns}
             from enrollment_outcomes where sequence_version_id = ${versionId} and enrolled_at >= ${options.from}::timestamptz
               and enrolled_at <= ${at}
             order by customer_id, enrolled_at, enrollment_id offset 0`;
}
