/**
 * Attribution in the database, under the rule of src/core/attribution.ts: one set-based
 * statement credits each order to its one touch (a lateral join on the customer's human
 * events, newest first), stored under the model's key with the order as part of the
 * primary key, so an order can never be credited twice under one model.
 *
 * `refreshAttribution` is incremental: it reads orders past the model's watermark (and a
 * margin below it, for orders whose insert committed after an earlier refresh read past
 * their id), and re-reads the newest hour of orders, whose touches may still have been in
 * flight.
 * `rebuildAttribution` starts the model over, for when events were re-classified or the
 * rule changed under the same key. A new model key (new windows) starts from nothing and
 * builds its whole history at its first refresh.
 *
 * An order that redeemed a discount code an email issued (`discount_codes.redeemed_order_id`,
 * refreshed here first) is credited to that email as a `code` touch, ahead of every click and
 * open, under every model: the rule changed under the same keys, so `campaign attribution
 * rebuild` applies it to orders attributed before.
 *
 * A cancelled order is credited to no one: both paths skip it, and cancelling an order
 * deletes the credit it had (src/ingest/store.ts `cancelOrders`), so a credit written
 * before the cancellation does not outlive it; the reads exclude cancelled orders as well,
 * for a refresh that ran alongside. `revenue` keeps the order's total when credited; the
 * reports compute the net (total less refunds by their as-of) from the order itself.
 */
import { sql } from 'drizzle-orm';
import { attributionKey, type AttributionModel } from '../core/attribution.ts';
import { queryRows, type Db } from '../db/client.ts';
import { refreshRedemptions } from '../store/discount-codes.ts';

const RECHECK_MS = 3_600_000;
/**
 * Order ids re-read below the watermark: an id is taken before its insert commits, so an
 * order can commit behind a refresh; none is ever that many ids late.
 */
const RECHECK_IDS = 5_000;

export interface AttributionRun {
  model: string;
  /** Orders looked at by this run. */
  orders: number;
  /** Of which credited to a message. */
  attributed: number;
}

export function refreshAttribution(db: Db, model: AttributionModel): Promise<AttributionRun> {
  return attribute(db, model, false);
}

/** Forgets everything attributed under the model and attributes every order again, in one transaction. */
export function rebuildAttribution(db: Db, model: AttributionModel): Promise<AttributionRun> {
  return attribute(db, model, true);
}

async function attribute(db: Db, model: AttributionModel, fromScratch: boolean): Promise<AttributionRun> {
  const key = attributionKey(model);
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`attribution:${key}`}))`);
    if (fromScratch) {
      await tx.execute(sql`delete from attributions where model = ${key}`);
      await tx.execute(sql`delete from attribution_runs where model = ${key}`);
    }
    const [state] = await queryRows<{ last_order_id: number }>(tx, sql`select last_order_id from attribution_runs where model = ${key}`);
    const [{ max_id: maxId, max_at: maxAt } = { max_id: 0, max_at: null }] = await queryRows<{
      max_id: number | null;
      max_at: Date | null;
    }>(tx, sql`select coalesce(max(id), 0)::bigint as max_id, max(ordered_at) as max_at from orders`);
    const lastOrderId = Number(state?.last_order_id ?? 0);
    // The last hour of the orders' own timeline, whatever the caller's clock says. A value (to
    // the millisecond below the newest order's time: a few more orders at most), so the planner
    // sees how few orders it holds; as a subquery it guessed a third of them.
    const since = maxAt === null ? null : new Date(new Date(maxAt).getTime() - RECHECK_MS).toISOString();
    const recheckFrom = Math.max(0, lastOrderId - RECHECK_IDS);
    // The orders re-attributed: after the last run's last order (less a margin) or in the
    // last hour. Deleted and counted as the union of the two halves, each read by its index:
    // an `or` there made a scan of every order or credit (0.1 s at 700,000 orders, before
    // every report). The insert's lateral lookups plan well with the `or` (a bitmap of both).
    const target = sql`select id from orders where id > ${recheckFrom} and id <= ${maxId}
                       union select id from orders where ordered_at >= ${since}::timestamptz and id <= ${maxId}`;

    await tx.execute(sql`delete from attributions a where a.model = ${key} and a.order_id in (${target})`);
    const clicks = sql`ev.type = 'click' and ev.occurred_at >= o.ordered_at - ${model.clickWindowMs} * interval '1 millisecond'`;
    const opens = sql`ev.type = 'open' and ev.occurred_at >= o.ordered_at - ${model.openWindowMs} * interval '1 millisecond'`;
    const eligible = model.kind === 'click-only' ? clicks : sql`((${clicks}) or (${opens}))`;
    const preference = model.kind === 'click-then-open' ? sql`(ev.type = 'click') desc,` : sql``;
    // Which order redeemed each issued discount code, before crediting: a redemption goes
    // first, ahead of any click or open (src/core/attribution.ts).
    await refreshRedemptions(tx);
    const inserted = await queryRows<{ n: number }>(
      tx,
      sql`with credited as (
            insert into attributions (order_id, model, message_id, touch, touched_at, revenue)
            select o.id, ${key}, t.message_id, t.type, t.occurred_at, o.total
            from orders o
            cross join lateral (
              select * from (
                (select dc.message_id, 'code' as type, m.sent_at as occurred_at, 0 as rank
                 from discount_codes dc join messages m on m.id = dc.message_id
                 where dc.redeemed_order_id = o.id and m.state = 'sent' and m.sent_at <= o.ordered_at
                 limit 1)
                union all
                (select ev.message_id, ev.type, ev.occurred_at, 1 as rank
                 from events ev
                 where ev.customer_id = o.customer_id and ev.is_human and ev.message_id is not null
                   and ev.occurred_at <= o.ordered_at and ${eligible}
                   -- Only a sent email earns credit (an event can name one that never went out).
                   and exists (select 1 from messages m where m.id = ev.message_id and m.state = 'sent')
                 order by ${preference} ev.occurred_at desc, ev.id desc
                 limit 1)
              ) touches order by rank limit 1
            ) t
            where (o.id > ${recheckFrom} or o.ordered_at >= ${since}::timestamptz) and o.id <= ${maxId} and o.cancelled_at is null
            returning 1
          ) select count(*)::int as n from credited`,
    );
    const [{ n: orders } = { n: 0 }] = await queryRows<{ n: number }>(tx, sql`select count(*)::int as n from (${target}) o`);
    await compactCreditedCounts(tx, key);
    await tx.execute(sql`insert into attribution_runs (model, last_order_id, updated_at) values (${key}, ${maxId}, now())
                         on conflict (model) do update set last_order_id = excluded.last_order_id, updated_at = now()`);
    return { model: key, orders, attributed: inserted[0]?.n ?? 0 };
  });
}

/**
 * Folds the model's credited-count deltas (migration 0033) into one row per step, dropping
 * steps that net to nothing. Rows a concurrent statement adds meanwhile are not in the
 * delete's snapshot and stay as they are; the model's lock keeps two folds apart.
 */
async function compactCreditedCounts(db: Db, model: string): Promise<void> {
  await db.execute(sql`with gone as (delete from credited_counts where model = ${model} returning *)
                       insert into credited_counts (model, sequence_version_id, arm, step, conversions, revenue)
                       select * from (select model, sequence_version_id, arm, step, sum(conversions)::int as conversions, sum(revenue) as revenue
                                      from gone group by model, sequence_version_id, arm, step) x
                       where x.conversions <> 0 or x.revenue <> 0`);
}
