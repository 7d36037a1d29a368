/**
 * What the guardrails and the sample-ratio check count, per arm of a version: the enrolled
 * customers (the units of src/analytics/report.ts `customerUnits`: one per customer, by
 * their first enrollment, enrolled by `asOf`), and how many of them had at least one
 * unsubscribe, complaint or bounce on an email of this version by `asOf`.
 *
 * The rate is per enrolled customer, not per email: the customer is what was randomised, so
 * customers are independent units for the two-proportion test, while one customer's emails
 * are not (a customer who unsubscribes gets no more of them). Enrolled customers, not
 * customers sent an email, so a variant that sends less cannot shrink its own denominator.
 */
import { sql, type SQL } from 'drizzle-orm';
import type { GuardrailCounts } from '../core/experiment.ts';
import { queryRows, type Db } from '../db/client.ts';
import { customerUnits, rollupUnits } from './cohort.ts';

interface GuardrailRow {
  arm: string;
  n: number;
  unsubscribes: number;
  complaints: number;
  bounces: number;
}

/**
 * Per arm: enrolled customers and those with each kind of event. The events are joined to
 * the version through their message's enrollment, any enrollment of the customer in the
 * version from `from` on (a customer enrolled again stays in their arm, and an email of the
 * second enrollment is still the arm's doing); `bool_or` per customer makes each count a
 * count of customers. With `rollup` (when no event is later than as-of, so the engagement
 * rollup's flags are what had happened by then), each unit's row of the per-enrollment
 * rollup (src/store/outcomes.ts) says it: its later flags are its customer's, ORed over the
 * unit's enrollment and every later one in the version, so the unit alone is read. Grouping
 * every flagged row by customer was most of the report's time at the bench's size (0.6 s).
 */
export async function guardrailCounts(
  db: Db,
  versionId: number,
  options: { from: string; windowMs: number; asOf: Date; rollup: boolean },
): Promise<Map<string, GuardrailCounts>> {
  const rows = await queryRows<GuardrailRow>(
    db,
    options.rollup
      ? // Each unit's row carries its customer's flags from the unit on (the later flags, migration 0034).
        sql`select u.arm, count(*)::int as n,
                   count(*) filter (where u.later_unsubscribed)::int as unsubscribes,
                   count(*) filter (where u.later_complained)::int as complaints,
                   count(*) filter (where u.later_bounced)::int as bounces
            from (${rollupUnits(versionId, options, ['arm', 'later_unsubscribed', 'later_complained', 'later_bounced'])}) u
            group by u.arm`
      : sql`select u.arm, count(*)::int as n,
                   count(*) filter (where g.unsubscribed)::int as unsubscribes,
                   count(*) filter (where g.complained)::int as complaints,
                   count(*) filter (where g.bounced)::int as bounces
            from (${customerUnits(versionId, options)}) u
            left join (${eventFlags(versionId, options)}) g on g.customer_id = u.customer_id
            group by u.arm`,
  );
  return new Map(rows.map((r) => [r.arm, { n: r.n, unsubscribes: r.unsubscribes, complaints: r.complaints, bounces: r.bounces }]));
}

/** Per customer of the version (enrollments from `from`): whether an email had an unsubscribe, complaint, bounce by as-of, from the events. */
function eventFlags(versionId: number, options: { from: string; asOf: Date }): SQL {
  return sql`select e.customer_id, bool_or(ev.type = 'unsubscribe') as unsubscribed,
                    bool_or(ev.type = 'complaint') as complained, bool_or(ev.type = 'bounce') as bounced
             from events ev join messages m on m.id = ev.message_id join enrollments e on e.id = m.enrollment_id
             where e.sequence_version_id = ${versionId} and e.enrolled_at >= ${options.from}::timestamptz
               and ev.type in ('unsubscribe', 'complaint', 'bounce') and ev.occurred_at <= ${options.asOf.toISOString()}::timestamptz
             group by e.customer_id`;
}
