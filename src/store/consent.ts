/**
 * What marketing consent kept out: the customers without it who ordered in a period, and
 * whether any of them was enrolled in a sequence that requires it (never, by
 * src/core/consent.ts; the demo shows the count beside that promise).
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { UNSUBSCRIBE_SOURCE } from '../core/consent.ts';
import type { Db } from '../db/client.ts';
import { parsedRow } from './rows.ts';

const count = z.coerce.number().int();
const reachRow = z.object({ said_no: count, unknown: count, orders: count, enrolled: count });

export interface ConsentReach {
  /** Customers who ordered from `from` on and said no to marketing (not counting those who withdrew it by unsubscribing). */
  saidNo: number;
  /** Customers who ordered from `from` on and were never asked (or never said). */
  unknown: number;
  /** Their orders from `from` on. */
  orders: number;
  /** Enrollments of such customers in a consent-required sequence (a version without the rule means required). */
  enrolled: number;
}

export async function consentReach(db: Db, from: Date): Promise<ConsentReach> {
  const at = from.toISOString();
  const row = await parsedRow(
    db,
    sql`with outside as (
          select distinct c.id, c.accepts_marketing from customers c join orders o on o.customer_id = c.id
          -- Those who withdrew it by unsubscribing had consented when they were enrolled: not counted.
          where c.accepts_marketing <> 'yes' and c.consent_source is distinct from ${UNSUBSCRIBE_SOURCE} and o.ordered_at >= ${at}::timestamptz
        )
        select count(*) filter (where accepts_marketing = 'no') as said_no,
               count(*) filter (where accepts_marketing = 'unknown') as unknown,
               (select count(*) from orders o where o.customer_id in (select id from outside) and o.ordered_at >= ${at}::timestamptz) as orders,
               (select count(*) from enrollments e join sequence_versions v on v.id = e.sequence_version_id
                where e.customer_id in (select id from outside) and e.enrolled_at >= ${at}::timestamptz
                  and coalesce(v.definition->>'consent', 'required') = 'required') as enrolled
        from outside`,
    reachRow,
  );
  return { saidNo: row!.said_no, unknown: row!.unknown, orders: row!.orders, enrolled: row!.enrolled };
}
