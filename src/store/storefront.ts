/**
 * What the storefront's recommendations read and write (the whole catalog comes from
 * src/store/catalog.ts `allProductsSeen`): every built neighbour (loaded into memory once per `recs build`, src/recs/storefront.ts), when the
 * statistics were last built (asked every few seconds, one primary-key row), the products a
 * customer owns (one indexed query per request that names a customer), and the clicks on
 * the storefront's tracked links.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { parsedRow, parsedRows } from './rows.ts';

const id = z.coerce.number().int();

const neighbourRow = z.object({
  product_id: id,
  related_product_id: id,
  pair_orders: z.number(),
  confidence: z.number(),
  lift: z.number(),
  score: z.number(),
});

/**
 * Every built co-purchase neighbour (`recs build` keeps the top few per product), best score
 * first within each product: the same rows and order as `neighboursOf` gives for any products.
 */
export async function allNeighbours(db: Db): Promise<z.output<typeof neighbourRow>[]> {
  return parsedRows(
    db,
    sql`select product_id, related_product_id, pair_orders, confidence, lift, score from copurchase_pairs
        order by product_id, score desc`,
    neighbourRow,
  );
}

/** When `recs build` last stored the statistics (copurchase_state.built_at), or null when it never has. */
export async function statisticsBuiltAt(db: Db): Promise<Date | null> {
  const row = await parsedRow(db, sql`select built_at from copurchase_state where id = 1`, z.object({ built_at: z.coerce.date() }));
  return row?.built_at ?? null;
}

/**
 * Every product the customer with this external id (the shop's customer id) has bought, as
 * of now; none for an unknown customer. Indexed: customers by external id, orders by
 * customer, order lines by order.
 */
export async function customerProductIds(db: Db, externalCustomerId: string): Promise<number[]> {
  const rows = await parsedRows(
    db,
    sql`select distinct oi.product_id from customers c
        join orders o on o.customer_id = c.id
        join order_items oi on oi.order_id = o.id
        where c.external_id = ${externalCustomerId}`,
    z.object({ product_id: id }),
  );
  return rows.map((r) => r.product_id);
}

export interface StorefrontClick {
  productId: number;
  placement: string;
  isHuman: boolean;
  machineReason: string | null;
  userAgent: string | null;
  ip: string | null;
  occurredAt: Date;
}

/** Stores one click on a storefront recommendation link. */
export async function storeStorefrontClick(db: Db, click: StorefrontClick): Promise<void> {
  await db.execute(sql`
    insert into storefront_clicks (product_id, placement, is_human, machine_reason, user_agent, ip, occurred_at)
    values (${click.productId}, ${click.placement}, ${click.isHuman}, ${click.machineReason}, ${click.userAgent}, ${click.ip},
            ${click.occurredAt.toISOString()}::timestamptz)`);
}
