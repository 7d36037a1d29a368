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
