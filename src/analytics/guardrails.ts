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
import { sql } from 'drizzle-orm';
import type { GuardrailCounts } from '../core/experiment.ts';
import { queryRows, type Db } from '../db/client.ts';
import { customerUnits } from './cohort.ts';

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
 * count of customers.
 */
export async function guardrailCounts(
  db: Db,
  versionId: number,
  options: { from: string; windowMs: number; asOf: Date },
): Promise<Map<string, GuardrailCounts>> {
  const at = options.asOf.toISOString();
  const rows = await queryRows<GuardrailRow>(
    db,
    sql`select u.arm, count(*)::int as n,
               count(*) filter (where g.unsubscribed)::int as unsubscribes,
               count(*) filter (where g.complained)::int as complaints,
               count(*) filter (where g.bounced)::int as bounces
        from (${customerUnits(versionId, options)}) u
        left join (
          select e.customer_id, bool_or(ev.type = 'unsubscribe') as unsubscribed,
                 bool_or(ev.type = 'complaint') as complained, bool_or(ev.type = 'bounce') as bounced
          from events ev join messages m on m.id = ev.message_id join enrollments e on e.id = m.enrollment_id
          where e.sequence_version_id = ${versionId} and e.enrolled_at >= ${options.from}::timestamptz
            and ev.type in ('unsubscribe', 'complaint', 'bounce') and ev.occurred_at <= ${at}::timestamptz
          group by e.customer_id
        ) g on g.customer_id = u.customer_id
        group by u.arm`,
  );
  return new Map(rows.map((r) => [r.arm, { n: r.n, unsubscribes: r.unsubscribes, complaints: r.complaints, bounces: r.bounces }]));
}
