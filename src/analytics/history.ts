/**
 * The shop's order history as the planner reads it (`campaign sequences plan`): every
 * order in a period with what a sequence's trigger looks at.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { CONSENT_STATES } from '../core/consent.ts';
import type { HistoricalOrder } from '../core/plan.ts';
import type { Db } from '../db/client.ts';
import { parsedRows } from '../store/rows.ts';

const historyRow = z.object({
  customer_key: z.string(),
  ordered_at: z.coerce.date(),
  total: z.string(),
  skus: z.array(z.string()),
  categories: z.array(z.string()),
  earlier_orders: z.number().int(),
  timezone: z.string().nullable(),
  accepts_marketing: z.enum(CONSENT_STATES),
  country: z.string().nullable(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.unknown()),
});

/**
 * Orders placed in [from, to], oldest first, each with its customer, total, distinct skus
 * and categories, the customer's time zone and marketing consent (as it is now), and how many orders the customer placed before
 * it (all time, by time then id: the same "earlier orders" the enrollment processor counts,
 * so `first_order` and `repeat_order` filters read the history as they will read new orders).
 */
export async function ordersInPeriod(db: Db, from: Date, to: Date): Promise<HistoricalOrder[]> {
  const rows = await parsedRows(
    db,
    sql`select c.external_id as customer_key, o.ordered_at, o.total::text as total, c.timezone, c.accepts_marketing, c.country, c.tags, c.attributes,
               coalesce(items.skus, '{}') as skus, coalesce(items.categories, '{}') as categories,
               (row_number() over (partition by o.customer_id order by o.ordered_at, o.id) - 1)::int
                 + (select count(*)::int from orders p where p.customer_id = o.customer_id and p.ordered_at < ${from.toISOString()}::timestamptz)
                 as earlier_orders
        from orders o join customers c on c.id = o.customer_id
        left join lateral (
          select array_agg(distinct p.sku) as skus, array_agg(distinct p.category) as categories
          from order_items i join products p on p.id = i.product_id where i.order_id = o.id
        ) items on true
        where o.ordered_at >= ${from.toISOString()}::timestamptz and o.ordered_at <= ${to.toISOString()}::timestamptz
        order by o.ordered_at, o.id`,
    historyRow,
  );
  return rows.map((r) => ({
    customerKey: r.customer_key,
    orderedAt: r.ordered_at,
    total: r.total,
    skus: r.skus,
    categories: r.categories,
    earlierOrders: r.earlier_orders,
    timeZone: r.timezone,
    acceptsMarketing: r.accepts_marketing,
    customer: { country: r.country, tags: r.tags, attributes: r.attributes },
  }));
}
