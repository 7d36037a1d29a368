/**
 * A report as of a time T counts only what had happened by T: emails sent by T, their opens,
 * clicks, unsubscribes, bounces and complaints by T, and orders (and so attributed revenue)
 * placed by T. Sends and orders carry their own times, so the report's queries filter them
 * directly. The engagement rollup (./engagement.ts) holds one row of booleans per message
 * with no time, so it is exact only when no event is later than T.
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.ts';

/**
 * The per-message engagement to join as of `asOf`, as a table expression with the columns of
 * `message_engagement`. When no event at all is later than `asOf` (the usual report, as of
 * now), that is the rollup itself. Otherwise it is recomputed from the events up to `asOf`
 * of the messages in the query's `sent` CTE, the same ORs the rollup stores: the slow path
 * (every event of those messages grouped by message), paid only by a report of the past.
 *
 * The check is one `exists` over `events` (a sequential scan when nothing is later: about
 * 0.24 s on 5,000,000 events, see docs/ARCHITECTURE.md "Report performance").
 */
export async function engagementAsOf(db: Db, asOf: Date): Promise<SQL> {
  const at = asOf.toISOString();
  const [row] = await queryRows<{ later: boolean }>(
    db,
    sql`select exists (select 1 from events where occurred_at > ${at}::timestamptz) as later`,
  );
  if (!row?.later) return sql`message_engagement`;
  return sql`(select ev.message_id,
                     bool_or(ev.type = 'open' and ev.is_human) as human_open, bool_or(ev.type = 'open') as raw_open,
                     bool_or(ev.type = 'click' and ev.is_human) as human_click, bool_or(ev.type = 'click') as raw_click,
                     bool_or(ev.type = 'unsubscribe') as unsubscribed, bool_or(ev.type = 'bounce') as bounced,
                     bool_or(ev.type = 'complaint') as complained
              from events ev join sent s on s.id = ev.message_id
              where ev.occurred_at <= ${at}::timestamptz
              group by ev.message_id)`;
}
