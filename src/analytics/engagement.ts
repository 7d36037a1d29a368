/**
 * The engagement rollup: per sent message, whether it was opened, clicked (by a person, by
 * anyone), unsubscribed from, bounced or complained about. Reports read it instead of
 * grouping every event by message on every run. Every sent email has its row, marked `sent`
 * when its send is settled (src/store/outcomes.ts `settleSends`), with its version, arm, step
 * and enrollment time: the report's funnel counts from this table alone.
 *
 * `refreshEngagement` reads the events past the watermark and ORs them into the rollup.
 * Event ids are handed out before commit, so an insert still in flight can commit behind
 * the watermark: each refresh re-reads a margin of ids below it, which is harmless because
 * the columns are booleans. `rebuildEngagement` starts over (after events are re-classified).
 * The same statement ORs the unsubscribe, complaint and bounce flags into the report's
 * per-enrollment rollup (src/store/outcomes.ts), which the guardrails read.
 */
import { sql, type SQL } from 'drizzle-orm';
import { jsonParam, queryRows, type Db } from '../db/client.ts';
import { lockCustomers, markSent, refreshLaterFlags, shareOutcomesLock } from '../store/outcomes.ts';

/** Ids re-read below the watermark: far more than the inserts ever in flight at once. */
export const ENGAGEMENT_MARGIN = 10_000;

export async function refreshEngagement(db: Db, options: { fromScratch?: boolean } = {}): Promise<{ messages: number }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('engagement'))`);
    await shareOutcomesLock(tx);
    if (options.fromScratch) {
      await tx.execute(sql`delete from message_engagement`);
      // Every sent email has its row, marked sent, events or not (the report's funnel counts them there).
      await markSent(tx, sql`select id from messages where state = 'sent'`);
      await tx.execute(sql`delete from engagement_runs`);
      await tx.execute(sql`update enrollment_outcomes set unsubscribed = false, complained = false, bounced = false,
                             later_unsubscribed = false, later_complained = false, later_bounced = false
                           where unsubscribed or complained or bounced or later_unsubscribed or later_complained or later_bounced`);
    }
    const [state] = await queryRows<{ last_event_id: number }>(tx, sql`select last_event_id from engagement_runs where id = 1`);
    const [{ max_id: maxId } = { max_id: 0 }] = await queryRows<{ max_id: number }>(
      tx,
      sql`select coalesce(max(id), 0)::bigint as max_id from events`,
    );
    const from = Math.max(0, Number(state?.last_event_id ?? 0) - ENGAGEMENT_MARGIN);
    const groupedWhere = (only: SQL) => sql`select ev.message_id,
                   bool_or(ev.type = 'open' and ev.is_human) as human_open, bool_or(ev.type = 'open') as raw_open,
                   bool_or(ev.type = 'click' and ev.is_human) as human_click, bool_or(ev.type = 'click') as raw_click,
                   bool_or(ev.type = 'unsubscribe') as unsubscribed, bool_or(ev.type = 'bounce') as bounced,
                   bool_or(ev.type = 'complaint') as complained
            from events ev
            where ev.id > ${from} and ev.id <= ${maxId} and ev.message_id is not null ${only}
            group by ev.message_id`;
    const grouped = groupedWhere(sql``);
    // Each message's row looked up by its key (a lateral with a limit: as a join, the planner
    // hashed all of message_engagement).
    const current = sql`left join lateral (select * from message_engagement x where x.message_id = g.message_id limit 1) t on true`;
    // The customers whose guardrail flags this refresh sets: their locks first, as every
    // writer of the rollup takes them (src/store/outcomes.ts), and their later flags after.
    const flagged = await queryRows<{ customer_id: number }>(
      tx,
      // Only the events that set a guardrail flag: the opens and clicks of the margin are most of it.
      sql`select distinct m.customer_id from (${groupedWhere(sql`and ev.type in ('unsubscribe', 'complaint', 'bounce')`)}) g ${current}
          cross join lateral (select customer_id from messages where id = g.message_id limit 1) m
          where (g.unsubscribed and not coalesce(t.unsubscribed, false)) or (g.complained and not coalesce(t.complained, false))
             or (g.bounced and not coalesce(t.bounced, false))`,
    );
    const customers = sql`select (jsonb_array_elements_text(${jsonParam(flagged.map((c) => c.customer_id))}))::int`;
    if (flagged.length > 0) await lockCustomers(tx, customers);
    const [{ n } = { n: 0 }] = await queryRows<{ n: number }>(
      tx,
      sql`with grouped as (${grouped}),
          read as (
            insert into message_engagement (message_id, human_open, raw_open, human_click, raw_click, unsubscribed, bounced, complained)
            select g.message_id, g.human_open, g.raw_open, g.human_click, g.raw_click, g.unsubscribed, g.bounced, g.complained
            from grouped g ${current}
            -- Only a message without a row, or one whose row lacks a flag its events set: the
            -- margin re-read is almost all rows already ORed in, and writing them again cost
            -- 0.14 s a report at a million emails (a new version of each row, its triggers).
            where t.message_id is null
               or (g.human_open and not t.human_open) or (g.raw_open and not t.raw_open)
               or (g.human_click and not t.human_click) or (g.raw_click and not t.raw_click)
               or (g.unsubscribed and not t.unsubscribed) or (g.bounced and not t.bounced) or (g.complained and not t.complained)
            on conflict (message_id) do update set
              human_open = message_engagement.human_open or excluded.human_open,
              raw_open = message_engagement.raw_open or excluded.raw_open,
              human_click = message_engagement.human_click or excluded.human_click,
              raw_click = message_engagement.raw_click or excluded.raw_click,
              unsubscribed = message_engagement.unsubscribed or excluded.unsubscribed,
              bounced = message_engagement.bounced or excluded.bounced,
              complained = message_engagement.complained or excluded.complained
            returning message_id, unsubscribed, complained, bounced
          ),
          -- The report's rollup (src/store/outcomes.ts) keeps the guardrail flags per enrollment.
          flags as (
            update enrollment_outcomes eo
            set unsubscribed = eo.unsubscribed or f.unsubscribed, complained = eo.complained or f.complained, bounced = eo.bounced or f.bounced,
                -- A row's own flags are among its later ones: set here, so the pass over the
                -- customers' later flags below rewrites only their earlier rows.
                later_unsubscribed = eo.later_unsubscribed or f.unsubscribed, later_complained = eo.later_complained or f.complained,
                later_bounced = eo.later_bounced or f.bounced
            -- Only the messages read with a flag, each looked up by its key (a lateral with a
            -- limit, which the planner cannot turn back into a join): as a join of every message
            -- read, it merged all of messages and scanned all of the rollup, 0.8 s a refresh
            -- with nothing new at a million emails.
            from (select m.enrollment_id, bool_or(r.unsubscribed) as unsubscribed, bool_or(r.complained) as complained, bool_or(r.bounced) as bounced
                  from read r cross join lateral (select x.enrollment_id from messages x where x.id = r.message_id limit 1) m
                  where r.unsubscribed or r.complained or r.bounced
                  group by m.enrollment_id) f
            where eo.enrollment_id = f.enrollment_id
              and (f.unsubscribed and not eo.unsubscribed or f.complained and not eo.complained or f.bounced and not eo.bounced)
          ) select count(*)::int as n from read`,
    );
    if (flagged.length > 0) await refreshLaterFlags(tx, customers);
    await compactFunnelCounts(tx);
    // The latest time read, every event of the range (not only those of a message), for ./as-of.ts `eventsAfter`.
    await tx.execute(sql`insert into engagement_runs (id, last_event_id, last_occurred_at, updated_at)
                         select 1, ${maxId}, max(occurred_at), now() from events where id > ${from} and id <= ${maxId}
                         on conflict (id) do update set last_event_id = greatest(engagement_runs.last_event_id, excluded.last_event_id),
                           last_occurred_at = greatest(engagement_runs.last_occurred_at, excluded.last_occurred_at), updated_at = now()`);
    return { messages: n };
  });
}

export function rebuildEngagement(db: Db): Promise<{ messages: number }> {
  return refreshEngagement(db, { fromScratch: true });
}

/** The sums of the funnel-count deltas per step, each named as its column: the fold's and the report's. */
export const FUNNEL_COUNT_SUMS = sql`sum(sent)::int as sent, sum(bounced)::int as bounced,
  sum(human_opens)::int as human_opens, sum(raw_opens)::int as raw_opens,
  sum(human_clicks)::int as human_clicks, sum(raw_clicks)::int as raw_clicks,
  sum(unsubscribes)::int as unsubscribes, sum(complaints)::int as complaints`;

/**
 * Folds the funnel-count deltas (migration 0033) into one row per step, dropping steps that
 * net to nothing. Rows a concurrent settle adds meanwhile are not in the delete's snapshot
 * and stay as they are; the engagement lock keeps two folds apart.
 */
async function compactFunnelCounts(db: Db): Promise<void> {
  await db.execute(sql`with gone as (delete from funnel_counts returning *)
                       insert into funnel_counts (sequence_version_id, arm, step, sent, bounced, human_opens, raw_opens,
                                                  human_clicks, raw_clicks, unsubscribes, complaints)
                       select * from (select sequence_version_id, arm, step, ${FUNNEL_COUNT_SUMS}
                                      from gone group by sequence_version_id, arm, step) x
                       where (x.sent, x.bounced, x.human_opens, x.raw_opens, x.human_clicks, x.raw_clicks, x.unsubscribes, x.complaints)
                             <> (0, 0, 0, 0, 0, 0, 0, 0)`);
}
