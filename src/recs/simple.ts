/**
 * The interim recommender used by previews: co-occurrence counted at query time, and
 * upsells in the same category at a higher tier or 1.2–3× the price. It reads the shop's
 * real orders, so previews show real products, but it has none of the statistics, rules and
 * exclusions of the recommendation engine that replaces it.
 */
import { sql } from 'drizzle-orm';
import type { Suggestion } from '../core/render-context.ts';
import { queryRows, type Db } from '../db/client.ts';

interface Row {
  sku: string;
  name: string;
  category: string;
  price: string;
  url: string | null;
  image_url: string | null;
  n: number;
  anchor: string;
}

const suggestion = (row: Row, reason: string): Suggestion => ({
  sku: row.sku,
  name: row.name,
  category: row.category,
  price: row.price,
  url: row.url ?? '',
  image: row.image_url ?? '',
  reason,
});

/** Products most often in the same orders as this order's products, in stock, not in it. */
export async function coPurchased(db: Db, orderId: number, limit: number): Promise<Suggestion[]> {
  const rows = await queryRows<Row>(
    db,
    sql`
      with own as (select distinct product_id from order_items where order_id = ${orderId}),
      baskets as (
        select distinct oi.order_id, oi.product_id as anchor_id from order_items oi
        join own using (product_id) where oi.order_id <> ${orderId}
      ),
      pairs as (
        select oi.product_id, b.anchor_id, count(distinct oi.order_id)::int as n
        from order_items oi join baskets b on b.order_id = oi.order_id
        where oi.product_id not in (select product_id from own)
        group by oi.product_id, b.anchor_id
      ),
      best as (select distinct on (product_id) product_id, anchor_id, n from pairs order by product_id, n desc)
      select p.sku, p.name, p.category, p.price::text as price, p.url, p.image_url, best.n, a.name as anchor
      from best join products p on p.id = best.product_id join products a on a.id = best.anchor_id
      where p.in_stock
      order by best.n desc, p.id
      limit ${limit}`,
  );
  return rows.map((r) => suggestion(r, `Bought together with ${r.anchor} in ${r.n} ${r.n === 1 ? 'order' : 'orders'}`));
}

/** Same category, a higher tier or 1.2–3× the price of a bought product; cheapest step first. */
export async function upsellsFor(db: Db, orderId: number, limit: number): Promise<Suggestion[]> {
  const rows = await queryRows<Row>(
    db,
    sql`
      select distinct on (p.id) p.sku, p.name, p.category, p.price::text as price, p.url, p.image_url, 0 as n, b.name as anchor
      from order_items oi
      join products b on b.id = oi.product_id
      join products p on p.category = b.category and p.id <> b.id and p.in_stock
       and (coalesce(p.tier, 0) > coalesce(b.tier, 0) or p.price between b.price * 1.2 and b.price * 3)
      where oi.order_id = ${orderId}
        and p.id not in (select product_id from order_items where order_id = ${orderId})
      order by p.id`,
  );
  return rows
    .sort((a, b) => Number(a.price) - Number(b.price))
    .slice(0, limit)
    .map((r) => suggestion(r, `A step up from your ${r.anchor}`));
}
