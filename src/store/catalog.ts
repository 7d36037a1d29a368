/**
 * What the recommender reads: products, the customer's history, the co-purchase
 * neighbours built by `campaign recs build`, and best-sellers. Lists of ids travel as one
 * JSON parameter (`jsonb_array_elements_text`), so a statement's shape never depends on how
 * many there are.
 */
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { jsonParam, type Db } from '../db/client.ts';
import { parsedRow, parsedRows } from './rows.ts';

const id = z.coerce.number().int();

const productRow = z.object({
  id,
  sku: z.string(),
  name: z.string(),
  category: z.string(),
  price: z.string(),
  tier: z.number().int().nullable(),
  in_stock: z.boolean(),
  url: z.string().nullable(),
  image_url: z.string().nullable(),
});
export type ProductRow = z.output<typeof productRow>;

const inputsRow = z.object({ order_id: id, order_products: z.array(id), owned: z.array(id) });

/**
 * For each (customer, order): the order's products in line order, and every product the
 * customer bought up to and including that order (what they own at its time), ascending.
 * One statement for any number of orders: a batch of steps or enrollments reads them together.
 * The customer's orders are read by orders_customer_time_idx and each one's items by its key
 * (`offset 0` keeps that lookup per order): joined plainly, the planner, on tables whose
 * statistics lag their growth, scanned every order item once per input order.
 */
export async function orderAndOwnedProducts(
  db: Db,
  orders: readonly { orderId: number; customerId: number }[],
): Promise<Map<number, { orderProducts: number[]; owned: number[] }>> {
  const rows = await parsedRows(
    db,
    sql`select t.order_id,
               coalesce((select jsonb_agg(oi.product_id order by oi.position) from order_items oi where oi.order_id = t.order_id), '[]') as order_products,
               coalesce((select jsonb_agg(distinct oi.product_id order by oi.product_id)
                         from orders o cross join lateral (select product_id from order_items where order_id = o.id offset 0) oi
                         where o.customer_id = t.customer_id
                           and o.ordered_at <= (select ordered_at from orders where id = t.order_id)), '[]') as owned
        from jsonb_to_recordset(${jsonParam(orders.map((o) => ({ order_id: o.orderId, customer_id: o.customerId })))}) as t(order_id bigint, customer_id bigint)`,
    inputsRow,
  );
  return new Map(rows.map((r) => [r.order_id, { orderProducts: r.order_products, owned: r.owned }]));
}

const neighbourRow = z.object({
  product_id: id,
  related_product_id: id,
  pair_orders: z.number(),
  confidence: z.number(),
  lift: z.number(),
  score: z.number(),
});

/** The built co-purchase neighbours of the given products, best score first within each product. */
export async function neighboursOf(db: Db, productIds: number[]): Promise<z.output<typeof neighbourRow>[]> {
  return parsedRows(
    db,
    sql`select product_id, related_product_id, pair_orders, confidence, lift, score from copurchase_pairs
        where product_id in (select (jsonb_array_elements_text(${jsonParam(productIds)}))::int)
        order by product_id, score desc`,
    neighbourRow,
  );
}

/**
 * The candidate products of one recommendation: the given ids (the order's products, their
 * neighbours, best-sellers), every product in the categories of `categoryOf` (upsells are
 * better products of the same category), and the skus the rules name; by id.
 */
export async function candidateProducts(db: Db, c: { ids: number[]; categoryOf: number[]; skus: string[] }): Promise<ProductRow[]> {
  return parsedRows(
    db,
    sql`select id, sku, name, category, price::text as price, tier, in_stock, url, image_url from products p
        where p.id in (select (jsonb_array_elements_text(${jsonParam(c.ids)}))::int)
           or p.category in (select category from products where id in (select (jsonb_array_elements_text(${jsonParam(c.categoryOf)}))::int))
           or p.sku in (select jsonb_array_elements_text(${jsonParam(c.skus)}))
        order by p.id`,
    productRow,
  );
}

const newProductRow = productRow.extend({ first_seen_at: z.coerce.date() });
export type NewProductRow = z.output<typeof newProductRow>;

/**
 * The candidates of the new-arrivals strategy: products first seen (products.first_seen_at)
 * from `since` to `until` (the engine's now, so a simulated clock sees only what was listed
 * by then) in the categories of `categoryOf` (the customer's products), newest first (ties
 * by id), at most `limit`. New products are neither neighbours nor best-sellers yet, so
 * candidateProducts never loads them.
 */
export async function newProductsInCategoriesOf(
  db: Db,
  c: { categoryOf: number[]; since: Date; until: Date; limit?: number },
): Promise<NewProductRow[]> {
  return parsedRows(
    db,
    sql`select id, sku, name, category, price::text as price, tier, in_stock, url, image_url, first_seen_at from products p
        where p.category in (select category from products where id in (select (jsonb_array_elements_text(${jsonParam(c.categoryOf)}))::int))
          and p.first_seen_at >= ${c.since.toISOString()}::timestamptz and p.first_seen_at <= ${c.until.toISOString()}::timestamptz
        order by p.first_seen_at desc, p.id limit ${c.limit ?? 100}`,
    newProductRow,
  );
}

/**
 * The `limit` best-selling products by orders: from the built statistics, or counted from
 * order lines when none are built yet (a new shop still gets popular products).
 */
export async function bestSellers(db: Db, limit = 100): Promise<{ productId: number; orders: number }[]> {
  const row = z.object({ product_id: id, orders: z.coerce.number() });
  const built = await parsedRows(
    db,
    sql`select product_id, orders from copurchase_products order by orders desc, product_id limit ${limit}`,
    row,
  );
  const rows = built.length
    ? built
    : await parsedRows(
        db,
        sql`select product_id, count(distinct order_id)::int as orders from order_items group by product_id order by 2 desc, 1 limit ${limit}`,
        row,
      );
  return rows.map((r) => ({ productId: r.product_id, orders: r.orders }));
}

/** The internal id of the product with this sku. */
export async function findProductId(db: Db, sku: string): Promise<number | undefined> {
  return (await parsedRow(db, sql`select id from products where sku = ${sku}`, z.object({ id })))?.id;
}

const relatedRow = z.object({
  sku: z.string(),
  name: z.string(),
  pair_orders: z.number(),
  support: z.number(),
  confidence: z.number(),
  lift: z.number(),
  score: z.number(),
});

/** The `limit` best built neighbours of a product with their statistics, best score first (ties by product id). */
export async function relatedProducts(db: Db, productId: number, limit: number): Promise<z.output<typeof relatedRow>[]> {
  return parsedRows(
    db,
    sql`select p.sku, p.name, c.pair_orders, c.support, c.confidence, c.lift, c.score
        from copurchase_pairs c join products p on p.id = c.related_product_id
        where c.product_id = ${productId} order by c.score desc, p.id limit ${limit}`,
    relatedRow,
  );
}

/** Every product, for a backtest's catalog. */
export async function allProducts(db: Db): Promise<ProductRow[]> {
  return parsedRows(
    db,
    sql`select id, sku, name, category, price::text as price, tier, in_stock, url, image_url from products`,
    productRow,
  );
}

const historyRow = z.object({ id, customer_id: id, ordered_at: z.coerce.date(), items: z.array(id) });

/**
 * Every product with when it was first seen (for new-arrivals): what the storefront's
 * in-memory recommender loads once per `recs build` (src/recs/storefront.ts).
 */
export async function allProductsSeen(db: Db): Promise<NewProductRow[]> {
  return parsedRows(
    db,
    sql`select id, sku, name, category, price::text as price, tier, in_stock, url, image_url, first_seen_at from products`,
    newProductRow,
  );
}

/** Every order with its product ids in line order, oldest first (ties by id): the history a backtest replays. */
export async function orderHistory(db: Db): Promise<z.output<typeof historyRow>[]> {
  return parsedRows(
    db,
    sql`select o.id, o.customer_id, o.ordered_at, array_agg(oi.product_id order by oi.position) as items
        from orders o join order_items oi on oi.order_id = o.id
        group by o.id order by o.ordered_at, o.id`,
    historyRow,
  );
}

const bundleRow = z.object({
  sku: z.string(),
  name: z.string(),
  price: z.string(),
  url: z.string().nullable(),
  image_url: z.string().nullable(),
  variant_id: z.string().nullable(),
  in_stock: z.boolean(),
});

/**
 * The products of the given skus as a bundle needs them: today's price, whether they are in
 * stock, and the shop platform's variant id (the cart link's), which the recommender does
 * not read. A bundle names a handful of skus: the order's products and its complements.
 */
export async function bundleProducts(db: Db, skus: readonly string[]): Promise<z.output<typeof bundleRow>[]> {
  return parsedRows(
    db,
    sql`select sku, name, price::text as price, url, image_url, variant_id, in_stock from products
        where sku in (select jsonb_array_elements_text(${jsonParam(skus)}))`,
    bundleRow,
  );
}

/** The category of the product with `sku`, or undefined when there is no such product. */
export async function productCategory(db: Db, sku: string): Promise<string | undefined> {
  return (await parsedRow(db, sql`select category from products where sku = ${sku}`, z.object({ category: z.string() })))?.category;
}
