/**
 * A report as of a time T counts only what had happened by T: emails sent by T, their opens,
 * clicks, unsubscribes, bounces and complaints by T, and orders (and so attributed revenue)
 * placed by T. Sends and orders carry their own times, so the report's queries filter them
 * directly. The engagement rollup (./engagement.ts) holds one row of booleans per message
 * with no time, so it is exact only when no event is later than T.
 */
import { sql, type SQL } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.ts';
import { ENGAGEMENT_MARGIN } from './engagement.ts';

/**
 * Whether any event is later than `asOf`: then the engagement rollup (and the guardrail flags
 * of the report's rollup, src/store/outcomes.ts) cannot say what had happened by `asOf`.
 *
 * Read from the engagement rollup's watermark (./engagement.ts): the latest time of the
 * events it has read, and the events past the watermark (less its margin, for inserts that
 * commit late) looked at directly, a range of the primary key. Before any refresh, one
 * `exists` over `events` (a sequential scan when nothing is later: about 0.24 s on 5,000,000
 * events, see docs/ARCHITECTURE.md "Report performance").
 */
export async function eventsAfter(db: Db, asOf: Date): Promise<boolean> {
  const at = sql`${asOf.toISOString()}::timestamptz`;
  const [row] = await queryRows<{ later: boolean }>(
    db,
    sql`select coalesce((select r.last_occurred_at > ${at} or exists (select 1 from events
                                  where id > r.last_event_id - ${ENGAGEMENT_MARGIN} and occurred_at > ${at})
                         from engagement_runs r where r.id = 1),
                        exists (select 1 from events where occurred_at > ${at})) as later`,
  );
  return row?.later === true;
}

/**
 * Whether an email was sent after `asOf`: then the offer figures of the report's rollup (the
 * skus every sent email showed, src/store/outcomes.ts) are not what had been offered by then.
 * A range of the `messages_sent_idx` index.
 */
export async function sentAfter(db: Db, asOf: Date): Promise<boolean> {
  const [row] = await queryRows<{ later: boolean }>(
    db,
    sql`select exists (select 1 from messages where sent_at > ${asOf.toISOString()}::timestamptz) as later`,
  );
  return row?.later === true;
}

/**
 * Whether an order was placed after `asOf`: then the credited counts of the report's funnel
 * (migration 0033) hold orders a report as of then must not count. The end of the
 * `orders_ordered_at_idx` index.
 */
export async function ordersAfter(db: Db, asOf: Date): Promise<boolean> {
  const [row] = await queryRows<{ later: boolean }>(
    db,
    sql`select exists (select 1 from orders where ordered_at > ${asOf.toISOString()}::timestamptz) as later`,
  );
  return row?.later === true;
}

/**
 * The per-message engagement to join as of `asOf`, as a table expression with the columns of
 * `message_engagement`, given whether an event is later than `asOf` ({@link eventsAfter}).
 * When none is (the usual report, as of now), that is the rollup itself. Otherwise it is
 * recomputed from the events up to `asOf` of the messages in the query's `sent` CTE, the same
 * ORs the rollup stores: the slow path (every event of those messages grouped by message),
 * paid only by a report of the past.
 */
export function engagementTable(later: boolean, asOf: Date): SQL {
  if (!later) return sql`message_engagement`;
  return sql`(select ev.message_id,
                     bool_or(ev.type = 'open' and ev.is_human) as human_open, bool_or(ev.type = 'open') as raw_open,
                     bool_or(ev.type = 'click' and ev.is_human) as human_click, bool_or(ev.type = 'click') as raw_click,
                     bool_or(ev.type = 'unsubscribe') as unsubscribed, bool_or(ev.type = 'bounce') as bounced,
                     bool_or(ev.type = 'complaint') as complained
              from events ev join sent s on s.id = ev.message_id
              where ev.occurred_at <= ${asOf.toISOString()}::timestamptz
              group by ev.message_id)`;
}

/** {@link engagementTable} as of `asOf`, after asking {@link eventsAfter}. */
export async function engagementAsOf(db: Db, asOf: Date): Promise<SQL> {
  return engagementTable(await eventsAfter(db, asOf), asOf);
}
