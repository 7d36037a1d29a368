/**
 * The report's per-enrollment rollup (the `enrollment_outcomes` table): per enrollment, the
 * figures the report measures of it (src/analytics/report.ts, ./cohort.ts's rules), so a
 * report reads one row per enrollment instead of joining orders, refunds, order lines,
 * products and events.
 *
 * Kept as `customer_profiles` is (./profiles.ts): the ingest recomputes the rows of the
 * customers a batch touched, in the batch's transaction (orders, refunds, cancellations,
 * product costs), an enrollment writes its row in the transaction that inserts it, and the
 * engagement refresh ORs the guardrail flags in (src/analytics/engagement.ts). Beside it,
 * `message_acceptance`: per sent email, when its recipient first bought a product it offered
 * (the report's acceptance per step), refreshed with the customer's rows and, for an email
 * just sent, by `settleSends`.
 * `rebuildOutcomes` recomputes every row; until it has run once (`outcome_runs`), the report
 * reads the raw rows, so a database migrated without it is never read from a partial rollup.
 *
 * Concurrency: a refresh locks its customers' buckets (a transaction-scoped advisory lock
 * per customer id modulo {@link BUCKETS}, in order, so a batch of thousands of customers
 * takes a bounded number of locks) before reading their orders, so two batches touching one
 * customer take turns and the second reads what the first committed (read committed: each
 * statement sees what committed before it began); the rebuild takes the rollup's lock
 * exclusively, the refreshes share it.
 */
import { sql, type SQL } from 'drizzle-orm';
import { measurementWindowMs, type SequenceDefinition } from '../core/sequence.ts';
import { jsonParam, queryRows, type Db } from '../db/client.ts';
import { analyze } from './statistics.ts';

/** The advisory lock key of the rollup: shared by refreshes, exclusive for the rebuild. */
const ROLLUP_LOCK = sql`hashtext('enrollment_outcomes')`;
/** Customer lock buckets: customers whose ids are equal modulo this share a lock. */
const BUCKETS = 64;

/**
 * Writes the rollup row of every enrollment `units` selects (a query of `enrollment_id` and
 * `window_end`), whole. Per enrollment, over its window orders (the customer's orders after
 * enrolling and by `window_end`, the trigger order and cancelled orders left out): how many,
 * their revenue (each order's total net of all its refunds, never below 0), and their margin
 * (net revenue − discount_total − Σ quantity × cost of the lines whose product has a cost),
 * that cost of goods, and whether a line's product had none. Beside: whether it is the
 * customer's first enrollment in the version, whether the customer ordered before the
 * trigger order (first or repeat buyer), the segment at enrollment. The
 * guardrail flags are taken from `message_engagement` for a new row and left alone on an
 * update (the engagement refresh keeps them); a new row's later flags are its own ORed with
 * those of the customer's next enrollment in the version (a new enrollment has no flagged
 * email yet, so the earlier rows' later flags stand; the rebuild recomputes them all).
 */
function outcomeUpsert(units: SQL, options: { whole?: boolean } = {}): SQL {
  // The later flags: with every enrollment in the statement (the rebuild), ORed over the
  // customer's later ones among them; else the next stored enrollment's carry the later ones.
  const later = (flag: string) =>
    options.whole
      ? sql`bool_or(coalesce(${sql.raw(`g.${flag}`)}, false)) over later`
      : sql`coalesce(${sql.raw(`g.${flag}`)}, false) or coalesce(${sql.raw(`l.${flag}`)}, false)`;
  return sql`
    with unit as (${units}),
    kpi_sent as (
      select m.enrollment_id as unit, m.step, m.recommendations, m.upsells
      from unit u join messages m on m.enrollment_id = u.enrollment_id where m.state = 'sent'
    ),
    kpi_offer as (${offeredSkus(sql`(select enrollment_id as id from unit)`, sql`kpi_sent`)}),
    -- Each enrollment's window orders are read through its customer's orders (a lateral
    -- lookup on orders_customer_time_idx), whatever the planner believes of the orders
    -- table: as a join, stale statistics once made it cost every order in the shop.
    kpi_bought as (
      select u.enrollment_id as unit, o.id as order_id, o.total, greatest(o.total - coalesce(rf.amount, 0), 0) as net
      from unit u join enrollments e on e.id = u.enrollment_id
      cross join lateral (
        select o.id, o.total from orders o
        where o.customer_id = e.customer_id and o.id <> e.trigger_order_id
          and o.ordered_at > e.enrolled_at and o.ordered_at <= u.window_end and o.cancelled_at is null
      ) o
      left join lateral (select sum(r.amount) as amount from refunds r where r.order_id = o.id) rf on true
    ),
    kpi_order as (${offerOrders(sql`kpi_bought`, sql`kpi_offer`)}),
    kpi as (
      select unit, coalesce(sum(items), 0) as items, coalesce(sum(recommended), 0) as recommended,
             coalesce(sum(net) filter (where has_offer), 0) as offer_revenue, (count(*) filter (where has_offer))::int as offer_orders,
             bool_or(has_cross) as accepted_cross, bool_or(has_up) as accepted_up, bool_or(has_offer) as accepted_any
      from kpi_order group by unit
    ),
    win as (
      select u.enrollment_id, x.orders, x.revenue, x.margin, x.cogs, x.uncosted
      from unit u join enrollments e on e.id = u.enrollment_id
      cross join lateral (
        select count(o.id)::int as orders,
               coalesce(sum(greatest(o.total - coalesce(rf.amount, 0), 0)), 0) as revenue,
               coalesce(sum(greatest(o.total - coalesce(rf.amount, 0), 0) - o.discount_total - coalesce(cg.cogs, 0)), 0) as margin,
               coalesce(sum(cg.cogs), 0) as cogs, coalesce(bool_or(cg.uncosted), false) as uncosted
        from orders o
        left join lateral (select sum(r.amount) as amount from refunds r where r.order_id = o.id) rf on true
        left join lateral (select sum(i.quantity * p.cost) as cogs, bool_or(p.cost is null) as uncosted
                           from order_items i join products p on p.id = i.product_id where i.order_id = o.id) cg on true
        where o.customer_id = e.customer_id and o.id <> e.trigger_order_id
          and o.ordered_at > e.enrolled_at and o.ordered_at <= u.window_end and o.cancelled_at is null
      ) x
    )
    insert into enrollment_outcomes (enrollment_id, sequence_version_id, customer_id, arm, enrolled_at, window_end, pre_spend,
                                     first_in_version, segment, repeat_buyer, orders, revenue, margin, cogs, uncosted,
                                     unsubscribed, complained, bounced, later_unsubscribed, later_complained, later_bounced,
                                     items, recommended, offer_revenue, offer_orders,
                                     accepted_cross, accepted_up, accepted_any, next_order_at)
    select e.id, e.sequence_version_id, e.customer_id, e.arm, e.enrolled_at, u.window_end, e.pre_spend,
           not exists (select 1 from enrollments x where x.customer_id = e.customer_id and x.sequence_version_id = e.sequence_version_id
                         and (x.enrolled_at, x.id) < (e.enrolled_at, e.id)),
           coalesce(e.segment, 'unknown'),
           exists (select 1 from orders p join orders t on t.id = e.trigger_order_id
                   where p.customer_id = e.customer_id and p.id <> t.id and (p.ordered_at, p.id) < (t.ordered_at, t.id)),
           w.orders, w.revenue, w.margin, w.cogs, w.uncosted,
           coalesce(g.unsubscribed, false), coalesce(g.complained, false), coalesce(g.bounced, false),
           ${later('unsubscribed')}, ${later('complained')}, ${later('bounced')},
           coalesce(k.items, 0), coalesce(k.recommended, 0), coalesce(k.offer_revenue, 0), coalesce(k.offer_orders, 0),
           coalesce(k.accepted_cross, false), coalesce(k.accepted_up, false), coalesce(k.accepted_any, false),
           (select min(o.ordered_at) from orders o where o.customer_id = e.customer_id and o.id <> e.trigger_order_id
              and o.cancelled_at is null and o.ordered_at > e.enrolled_at)
    from unit u join enrollments e on e.id = u.enrollment_id join win w on w.enrollment_id = u.enrollment_id
    left join kpi k on k.unit = u.enrollment_id
    left join lateral (select bool_or(me.unsubscribed) as unsubscribed, bool_or(me.complained) as complained, bool_or(me.bounced) as bounced
                       from messages m join message_engagement me on me.message_id = m.id where m.enrollment_id = e.id) g on true
    ${
      options.whole
        ? sql`window later as (partition by e.customer_id, e.sequence_version_id order by e.enrolled_at desc, e.id desc
                               rows between unbounded preceding and current row)`
        : // The later flags of the customer's next enrollment in the version, which carry all the later ones.
          sql`left join lateral (select z.later_unsubscribed as unsubscribed, z.later_complained as complained, z.later_bounced as bounced
                                 from enrollment_outcomes z
                                 where z.customer_id = e.customer_id and z.sequence_version_id = e.sequence_version_id
                                   and (z.enrolled_at, z.enrollment_id) > (e.enrolled_at, e.id)
                                 order by z.enrolled_at, z.enrollment_id limit 1) l on true`
    }
    on conflict (enrollment_id) do update set
      window_end = excluded.window_end, first_in_version = excluded.first_in_version, repeat_buyer = excluded.repeat_buyer, orders = excluded.orders,
      revenue = excluded.revenue, margin = excluded.margin, cogs = excluded.cogs, uncosted = excluded.uncosted,
      items = excluded.items, recommended = excluded.recommended, offer_revenue = excluded.offer_revenue, offer_orders = excluded.offer_orders,
      accepted_cross = excluded.accepted_cross, accepted_up = excluded.accepted_up, accepted_any = excluded.accepted_any,
      next_order_at = excluded.next_order_at
    where (enrollment_outcomes.window_end, enrollment_outcomes.first_in_version, enrollment_outcomes.repeat_buyer, enrollment_outcomes.orders, enrollment_outcomes.revenue,
           enrollment_outcomes.margin, enrollment_outcomes.cogs, enrollment_outcomes.uncosted, enrollment_outcomes.items, enrollment_outcomes.recommended,
           enrollment_outcomes.offer_revenue, enrollment_outcomes.offer_orders, enrollment_outcomes.accepted_cross, enrollment_outcomes.accepted_up,
           enrollment_outcomes.accepted_any, enrollment_outcomes.next_order_at)
      is distinct from (excluded.window_end, excluded.first_in_version, excluded.repeat_buyer, excluded.orders, excluded.revenue,
           excluded.margin, excluded.cogs, excluded.uncosted, excluded.items, excluded.recommended, excluded.offer_revenue, excluded.offer_orders,
           excluded.accepted_cross, excluded.accepted_up, excluded.accepted_any, excluded.next_order_at)`;
}

/**
 * What each unit was offered (src/analytics/kpis.ts): one row per (unit, sku), whether as a
 * cross-sell, as an upsell (or both, at different steps). The skus of its sent emails (`sent`:
 * a table of unit, step, recommendations, upsells), and for a step with no sent email what it
 * would have offered, `enrollments.offered[step]` (`with ordinality` is 1-based, steps
 * 0-based). `units`: a table of the units' enrollment ids (`id`). Shared by the raw KPI query
 * and the rollup, so the two read one rule.
 */
export function offeredSkus(units: SQL, sent: SQL): SQL {
  return sql`select unit, sku, bool_or(cross_sell) as cross_sell, bool_or(upsell) as upsell
    from (
      select s.unit, r.sku, true as cross_sell, false as upsell
      from ${sent} s cross join lateral jsonb_array_elements_text(s.recommendations) r(sku)
      union all
      select s.unit, r.sku, false, true from ${sent} s cross join lateral jsonb_array_elements_text(s.upsells) r(sku)
      union all
      select u.id, x.sku, x.cross_sell, x.upsell
      from ${units} u join enrollments en on en.id = u.id
      cross join lateral jsonb_array_elements(coalesce(en.offered, '[]'::jsonb)) with ordinality as st(offer, ordinal)
      cross join lateral (
        select c.sku, true, false from jsonb_array_elements_text(st.offer -> 'crossSell') c(sku)
        union all
        select c.sku, false, true from jsonb_array_elements_text(st.offer -> 'upsell') c(sku)
      ) x(sku, cross_sell, upsell)
      where not exists (select 1 from ${sent} s where s.unit = u.id and s.step = st.ordinal - 1)
    ) raw
    group by unit, sku`;
}

/**
 * Per order of `bought` (a table of unit, order_id, total, net): its items, whether it holds
 * an offered cross-sell, upsell, either (`offer`, from {@link offeredSkus}), and the revenue
 * of its offered lines, a partial refund spread over the lines in proportion to their totals
 * (line × net / total); left joins keep an order with no lines.
 */
export function offerOrders(bought: SQL, offer: SQL): SQL {
  return sql`select b.unit, b.order_id, b.net,
           coalesce(sum(oi.quantity), 0) as items,
           coalesce(bool_or(f.cross_sell), false) as has_cross,
           coalesce(bool_or(f.upsell), false) as has_up,
           count(f.sku) > 0 as has_offer,
           case when b.total > 0
                then coalesce(sum(oi.quantity * oi.unit_price) filter (where f.sku is not null), 0) * b.net / b.total
                else 0 end as recommended
    from ${bought} b
    left join order_items oi on oi.order_id = b.order_id
    left join products p on p.id = oi.product_id
    left join ${offer} f on f.unit = b.unit and f.sku = p.sku
    group by b.unit, b.order_id, b.net, b.total`;
}

/**
 * Rewrites the acceptance rows (`message_acceptance`) of the messages `messages` selects (a
 * query of one id column): per sent one, the time of the first order of its recipient that
 * holds a product the email offered (its cross-sells or upsells), uncancelled, not the
 * enrollment's trigger order, after the send and by the end of the enrollment's window (its
 * `enrollment_outcomes.window_end`, so written after those rows). The report's step
 * acceptance as of T counts the rows by T (src/analytics/report.ts).
 */
async function writeAcceptance(db: Db, messages: SQL): Promise<void> {
  // The message set is materialized once: as an `in (…)` subquery the planner, on a table
  // whose statistics lag its growth, made it a semi-join that expanded a batch's JSON
  // parameter again for every sent message (0.9 s for 1,000 customers among 4,000 emails).
  const target = sql`target as materialized (select distinct id from (${messages}) x(id))`;
  await db.execute(sql`with ${target} delete from message_acceptance a using target t where a.message_id = t.id`);
  await db.execute(sql`
    with ${target}
    insert into message_acceptance (message_id, accepted_at)
    select m.id, a.accepted_at
    from target t join messages m on m.id = t.id
    join enrollments e on e.id = m.enrollment_id join enrollment_outcomes eo on eo.enrollment_id = e.id
    -- The recipient's orders after the send, by a lateral lookup on orders_customer_time_idx
    -- (see outcomeUpsert), first one holding an offered product.
    cross join lateral (
      select min(o.ordered_at) as accepted_at from orders o
      where o.customer_id = m.customer_id and o.id <> e.trigger_order_id and o.cancelled_at is null
        and o.ordered_at > m.sent_at and o.ordered_at <= eo.window_end
        and exists (select 1 from order_items oi join products p on p.id = oi.product_id
                    where oi.order_id = o.id and (m.recommendations @> jsonb_build_array(p.sku) or m.upsells @> jsonb_build_array(p.sku)))
    ) a
    where m.state = 'sent' and a.accepted_at is not null`);
}

/** Takes the rollup's lock shared, until the transaction ends: a writer of the rollup other than the rebuild (the engagement refresh). */
export async function shareOutcomesLock(db: Db): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock_shared(${ROLLUP_LOCK})`);
}

/** Takes the rollup's lock shared and the customers' bucket locks, in bucket order (see the file's comment). */
export async function lockCustomers(db: Db, customers: SQL): Promise<void> {
  await shareOutcomesLock(db);
  await db.execute(sql`select pg_advisory_xact_lock(${ROLLUP_LOCK}, b.bucket)
                       from (select distinct c.id % ${BUCKETS} as bucket from (${customers}) c(id) order by 1) b`);
}

/**
 * Recomputes the rollup rows of every enrollment of the customers `customers` selects (a
 * query of one id column): the ingest's call after it stored their orders, refunds or
 * cancellations. Every enrollment of theirs, since an order may change the window, repeat and
 * buyer figures of any of them.
 */
async function refreshCustomers(db: Db, customers: SQL): Promise<void> {
  await lockCustomers(db, customers);
  // Prepared (each caller's text is fixed): planning the upsert took 8 ms, running it on a
  // batch's customers without enrollments under 1 ms.
  await queryRows(
    db,
    outcomeUpsert(
      sql`select enrollment_id, window_end from enrollment_outcomes where customer_id in (select id from (${customers}) c(id))`,
    ),
    { prepared: true },
  );
  // Each customer's messages by messages_customer_idx (`offset 0` keeps the lookup per customer).
  await writeAcceptance(
    db,
    sql`select m.id from (${customers}) c(id) cross join lateral (select id from messages where customer_id = c.id offset 0) m`,
  );
}

/**
 * Writes the rollup rows of the emails marked sent since the last call (`sends_to_roll_up`,
 * which the send fills in the statement that marks an email sent): each email's acceptance,
 * and its enrollment's offer figures where the enrollment has window orders (the step now
 * offers what the email showed; with none, the usual case, nothing changes). Runs before
 * every report and on the workers' reconciling pass, in transactions of up to `batch`
 * emails; returns how many it settled.
 *
 * Why not in the send: writing these rows there put the customer's bucket lock in every
 * send's transaction, and the sends and the order path's refreshes (which take every bucket
 * of a batch of orders) queued behind each other; the demo then stored a fraction of its
 * orders. Correctness without it: a settle takes the emails' customers' bucket locks, so an
 * order committed before it took them is read by it, and one committed after is stored by
 * a refresh that already sees the email sent (it was sent before its row here existed).
 * Settles never collide (`skip locked`), and the rebuild, which holds the rollup's lock
 * exclusively, waits for them.
 */
export async function settleSends(db: Db, batch = 5_000): Promise<number> {
  let settled = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      await shareOutcomesLock(tx);
      const rows = await queryRows<{ message_id: number }>(
        tx,
        sql`select message_id from sends_to_roll_up order by message_id limit ${batch} for update skip locked`,
      );
      if (rows.length === 0) return 0;
      const messages = sql`select (jsonb_array_elements_text(${jsonParam(rows.map((r) => r.message_id))}))::bigint`;
      await lockCustomers(tx, sql`select customer_id from messages where id in (${messages})`);
      await tx.execute(
        outcomeUpsert(sql`select o.enrollment_id, o.window_end from enrollment_outcomes o
                          where o.orders > 0 and o.enrollment_id in (select enrollment_id from messages where id in (${messages}))`),
      );
      await writeAcceptance(tx, messages);
      await markSent(tx, messages);
      await tx.execute(sql`delete from sends_to_roll_up where message_id in (${messages})`);
      return rows.length;
    });
    settled += n;
    if (n < batch) return settled;
  }
}

/**
 * Recomputes the rollup rows of these customers' enrollments (internal ids): orders stored.
 * With `triggers` (internal ids of orders that changed), also those of the customers enrolled
 * on them: a trigger order moved in time, even one since moved to another customer, changes
 * whether its enrollment's customer had ordered before it.
 */
export async function refreshOutcomes(db: Db, customerIds: Iterable<number>, triggers: Iterable<number> = []): Promise<void> {
  const ids = [...new Set(customerIds)];
  const orders = [...new Set(triggers)];
  if (ids.length === 0 && orders.length === 0) return;
  await refreshCustomers(
    db,
    sql`select (v #>> '{}')::int from jsonb_array_elements(${jsonParam(ids)}) v
        union select customer_id from enrollments where trigger_order_id in (select (v #>> '{}')::bigint from jsonb_array_elements(${jsonParam(orders)}) v)`,
  );
}

/** Recomputes the rollup rows of the enrollments of the customers owning these orders (external ids): refunds and cancellations. */
export async function refreshOutcomesOfOrders(db: Db, orderExternalIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(orderExternalIds)];
  if (ids.length === 0) return;
  await refreshCustomers(
    db,
    sql`select distinct o.customer_id from orders o join jsonb_array_elements_text(${jsonParam(ids)}) k(v) on o.external_id = k.v`,
  );
}

/** Recomputes the rollup rows of the enrollments of customers who ordered these products (skus): their cost changed. */
export async function refreshOutcomesOfProducts(db: Db, skus: Iterable<string>): Promise<void> {
  const list = [...new Set(skus)];
  if (list.length === 0) return;
  await refreshCustomers(
    db,
    sql`select distinct o.customer_id from orders o join order_items i on i.order_id = o.id join products p on p.id = i.product_id
        where p.sku in (select jsonb_array_elements_text(${jsonParam(list)}))
          and exists (select 1 from enrollment_outcomes eo where eo.customer_id = o.customer_id)`,
  );
}

/**
 * Writes the rollup rows of new enrollments, each with its version's measurement window
 * (the enrollments' transaction), in three statements whatever their number.
 */
export async function addOutcomes(db: Db, enrollmentIds: readonly number[]): Promise<void> {
  if (enrollmentIds.length === 0) return;
  const ids = sql`(select (jsonb_array_elements_text(${jsonParam(enrollmentIds)}))::bigint)`;
  const versions = await queryRows<{ id: number; definition: SequenceDefinition }>(
    db,
    sql`select e.id, v.definition from enrollments e join sequence_versions v on v.id = e.sequence_version_id where e.id in ${ids}`,
  );
  if (versions.length === 0) return;
  const windows = jsonParam(versions.map((v) => ({ id: v.id, ms: measurementWindowMs(v.definition) })));
  await lockCustomers(db, sql`select customer_id from enrollments where id in ${ids}`);
  // Beside the new rows, their customers' other rows in the version: an enrollment earlier than theirs makes them no longer the first.
  // Prepared: planning the upsert took longer than running it on a few enrollments.
  await queryRows(
    db,
    outcomeUpsert(sql`select e.id as enrollment_id, e.enrolled_at + w.ms * interval '1 millisecond' as window_end
                      from enrollments e join jsonb_to_recordset(${windows}) as w(id bigint, ms float8) on w.id = e.id
                      union
                      select o.enrollment_id, o.window_end from enrollment_outcomes o join enrollments e on e.id in ${ids}
                      where o.customer_id = e.customer_id and o.sequence_version_id = e.sequence_version_id
                        and o.enrollment_id not in ${ids}`),
    { prepared: true },
  );
}

/**
 * Recomputes the whole rollup from the raw rows, every enrollment with the measurement
 * window of its version's definition, then every sent email's acceptance, and marks it
 * built: from then on the report reads it.
 * Returns how many enrollments it holds.
 */
export async function rebuildOutcomes(db: Db): Promise<{ enrollments: number }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${ROLLUP_LOCK})`);
    // Emails waiting to be settled are settled by this rebuild: their rows go first, so every
    // one deleted was sent before the statements below, and one sent while this runs keeps
    // its row and is settled later.
    // Their emails' engagement rows are marked sent here, as a settle would have.
    await markSent(tx, sql`delete from sends_to_roll_up returning message_id`);
    const versions = await queryRows<{ id: number; definition: SequenceDefinition }>(tx, sql`select id, definition from sequence_versions`);
    const windows = versions.map((v) => ({ version: v.id, ms: measurementWindowMs(v.definition) }));
    await tx.execute(sql`delete from enrollment_outcomes`);
    await tx.execute(
      outcomeUpsert(
        sql`select e.id as enrollment_id, e.enrolled_at + w.ms * interval '1 millisecond' as window_end
            from enrollments e join jsonb_to_recordset(${jsonParam(windows)})
                 as w(version int, ms bigint) on w.version = e.sequence_version_id`,
        { whole: true },
      ),
    );
    await tx.execute(sql`delete from message_acceptance`);
    await writeAcceptance(tx, sql`select id from messages where state = 'sent'`);
    await tx.execute(sql`insert into outcome_runs (id, built_at) values (1, now()) on conflict (id) do update set built_at = now()`);
    // Every row written anew: the planner learns them now, not at the reconciler's next pass
    // (at the bench's size the report right after a rebuild took 1.7 s, 1.15 s with them).
    await analyze(tx, ['enrollment_outcomes', 'message_acceptance', 'message_engagement']);
    const [row] = await queryRows<{ n: number }>(tx, sql`select count(*)::int as n from enrollment_outcomes`);
    return { enrollments: row?.n ?? 0 };
  });
}

/**
 * Gives each email of `messages` (a query of message ids, each sent) its engagement row
 * marked sent (src/analytics/engagement.ts; migration 0032's trigger copies its version, arm,
 * step and enrollment time), so the report's funnel counts it from that table alone: the
 * settle's, the rollup rebuild's and the engagement rebuild's.
 */
export async function markSent(db: Db, messages: SQL): Promise<void> {
  await db.execute(sql`with m(id) as (${messages})
                       insert into message_engagement (message_id, sent) select id, true from m
                       on conflict (message_id) do update set sent = true where not message_engagement.sent`);
}

/**
 * Sets the later flags (migration 0034) of every enrollment of `customers` (a query of
 * customer ids) from the rows' own flags: whether it or a
 * later enrollment of the customer in the version (by enrolled_at, then id) was unsubscribed
 * from, complained about or bounced. A unit's row then says what the guardrails count of its
 * customer from the unit on (src/analytics/guardrails.ts). The engagement refresh runs it
 * for the customers whose flags it set, holding their locks (the rebuild computes them as it
 * writes the rows, and a new enrollment from the next one's).
 */
export async function refreshLaterFlags(db: Db, customers: SQL): Promise<void> {
  await db.execute(sql`with w as (
      select enrollment_id,
             bool_or(unsubscribed) over later as lu, bool_or(complained) over later as lc, bool_or(bounced) over later as lb
      from enrollment_outcomes where customer_id in (${customers})
      window later as (partition by customer_id, sequence_version_id order by enrolled_at desc, enrollment_id desc
                       rows between unbounded preceding and current row)
    )
    update enrollment_outcomes eo set later_unsubscribed = w.lu, later_complained = w.lc, later_bounced = w.lb
    from w where w.enrollment_id = eo.enrollment_id
      and (eo.later_unsubscribed, eo.later_complained, eo.later_bounced) is distinct from (w.lu, w.lc, w.lb)`);
}

/** Whether no sent email waits to be settled (`settleSends`): then every sent email's engagement row is marked sent. */
export async function sendsSettled(db: Db): Promise<boolean> {
  const [row] = await queryRows<{ settled: boolean }>(db, sql`select not exists (select 1 from sends_to_roll_up) as settled`);
  return row?.settled === true;
}

/** Whether the rollup has been built (by `rebuildOutcomes`), so the report may read it. */
export async function outcomesBuilt(db: Db): Promise<boolean> {
  const [row] = await queryRows<{ built: boolean }>(db, sql`select exists (select 1 from outcome_runs) as built`);
  return row?.built === true;
}
