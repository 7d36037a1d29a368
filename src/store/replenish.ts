/**
 * Learned replenishment, the stored part: `recs build` learns per product and per category
 * the days between a customer's repeat purchases (`learnReplenishment`); an enrollment in a
 * sequence with a refill step reads what is known of its order's products
 * (`orderRefillKnowledge`); `recs replenish` and the backtest read the rest. The rule that
 * makes a gap is src/core/replenish.ts `repeatGaps`; the SQL here follows it exactly: a
 * purchase less than a day after the one before is dropped (lag over every purchase), and
 * the gaps are measured between those kept (lag again). Cancelled orders are no purchase.
 */
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { IntervalStats, KnownIntervals, Purchase } from '../core/replenish.ts';
import type { Db } from '../db/client.ts';
import { parsedRow, parsedRows } from './rows.ts';

/**
 * The intervals of every (customer, `key`) in days, `key` being an SQL expression over the
 * product `p` (its sku or its category); one purchase per order and key.
 */
function gapsBy(key: SQL): SQL {
  return sql`
    with purchases as (
      select distinct o.customer_id, ${key} as key, o.ordered_at as at
      from order_items oi join orders o on o.id = oi.order_id join products p on p.id = oi.product_id
      where o.cancelled_at is null
    ), lagged as (
      select customer_id, key, at, lag(at) over (partition by customer_id, key order by at) as prev from purchases
    ), kept as (
      select customer_id, key, at from lagged where prev is null or extract(epoch from at - prev) >= 86400
    ), gaps as (
      select key, (extract(epoch from at - lag(at) over (partition by customer_id, key order by at)) / 86400)::float8 as days
      from kept
    )
    select key, count(*)::int as intervals,
           percentile_cont(0.5) within group (order by days) as median,
           percentile_cont(0.25) within group (order by days) as q1,
           percentile_cont(0.75) within group (order by days) as q3
    from gaps where days is not null group by key`;
}

/**
 * Replaces the learned intervals with what the whole order history says now, per product
 * and per category, in one transaction (a reader sees the old figures or the new, never a
 * mix). Returns how many products and categories have at least one repeat purchase.
 */
export async function learnReplenishment(db: Db): Promise<{ products: number; categories: number }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`delete from replenish_intervals`);
    const learn = async (scope: 'product' | 'category', key: SQL) => {
      const rows = await parsedRows(
        tx,
        sql`insert into replenish_intervals (scope, key, intervals, median, q1, q3, built_at)
            select ${scope}, key, intervals, median, q1, q3, now() from (${gapsBy(key)}) learned
            returning key`,
        z.object({ key: z.string() }),
      );
      return rows.length;
    };
    return { products: await learn('product', sql`p.sku`), categories: await learn('category', sql`p.category`) };
  });
}

const learnedRow = z.object({
  intervals: z.number().int(),
  median: z.number(),
  q1: z.number(),
  q3: z.number(),
});
const toStats = (r: z.output<typeof learnedRow> | null | undefined): IntervalStats | undefined =>
  r ? { n: r.intervals, median: r.median, q1: r.q1, q3: r.q3 } : undefined;

const knowledgeRow = z.object({
  sku: z.string(),
  product: learnedRow.nullable(),
  category: learnedRow.nullable(),
  times: z.array(z.coerce.number()),
});

/**
 * What is known of each product of an order when its refill is timed, in one read: the
 * product's and its category's learned intervals, and the customer's own purchase times of
 * the product up to this order (their gaps are worked out by `repeatGaps`).
 */
export async function orderRefillKnowledge(db: Db, orderId: number): Promise<{ sku: string; known: KnownIntervals; times: number[] }[]> {
  const rows = await parsedRows(
    db,
    sql`select p.sku,
               (select to_jsonb(r) from replenish_intervals r where r.scope = 'product' and r.key = p.sku) as product,
               (select to_jsonb(r) from replenish_intervals r where r.scope = 'category' and r.key = p.category) as category,
               array(select (extract(epoch from o.ordered_at) * 1000)::float8
                     from order_items oi2 join orders o on o.id = oi2.order_id
                     where oi2.product_id = p.id and o.customer_id = t.customer_id and o.cancelled_at is null
                       and o.ordered_at <= t.ordered_at) as times
        from orders t join order_items oi on oi.order_id = t.id join products p on p.id = oi.product_id
        where t.id = ${orderId}`,
    knowledgeRow,
  );
  return rows.map((r) => ({ sku: r.sku, times: r.times, known: { own: [], product: toStats(r.product), category: toStats(r.category) } }));
}

/** What `recs build` learned of one product and its category, and when; undefined when there is no product `sku`. */
export async function learnedOf(
  db: Db,
  sku: string,
): Promise<
  { category: string; product: IntervalStats | undefined; categoryStats: IntervalStats | undefined; builtAt: Date | null } | undefined
> {
  const row = await parsedRow(
    db,
    sql`select p.category,
               (select to_jsonb(r) from replenish_intervals r where r.scope = 'product' and r.key = p.sku) as product,
               (select to_jsonb(r) from replenish_intervals r where r.scope = 'category' and r.key = p.category) as category_stats,
               (select max(built_at) from replenish_intervals) as built_at
        from products p where p.sku = ${sku}`,
    z.object({
      category: z.string(),
      product: learnedRow.nullable(),
      category_stats: learnedRow.nullable(),
      built_at: z.coerce.date().nullable(),
    }),
  );
  return (
    row && { category: row.category, product: toStats(row.product), categoryStats: toStats(row.category_stats), builtAt: row.built_at }
  );
}

/** The times (epoch ms) a customer, by external id, bought `sku` in orders not cancelled. */
export async function customerPurchaseTimes(db: Db, customerExternalId: string, sku: string): Promise<number[]> {
  const rows = await parsedRows(
    db,
    sql`select (extract(epoch from o.ordered_at) * 1000)::float8 as at
        from order_items oi join orders o on o.id = oi.order_id join products p on p.id = oi.product_id
        join customers c on c.id = o.customer_id
        where c.external_id = ${customerExternalId} and p.sku = ${sku} and o.cancelled_at is null`,
    z.object({ at: z.number() }),
  );
  return rows.map((r) => r.at);
}

const purchaseRow = z.object({ customer: z.string(), sku: z.string(), category: z.string(), at: z.coerce.date() });

/**
 * Every purchase in orders not cancelled (of one category, when given), one per order and
 * sku: the customer's external id, the sku, its category and when. What the replenishment
 * backtest replays, and the direct computation the stored learning is checked against.
 */
export async function purchases(db: Db, options: { category?: string } = {}): Promise<Purchase[]> {
  return parsedRows(
    db,
    sql`select distinct c.external_id as customer, p.sku, p.category, o.ordered_at as at
        from order_items oi join orders o on o.id = oi.order_id join products p on p.id = oi.product_id
        join customers c on c.id = o.customer_id
        where o.cancelled_at is null ${options.category === undefined ? sql`` : sql`and p.category = ${options.category}`}`,
    purchaseRow,
  );
}
