/**
 * Recommendations for a customer's trigger order, from the database: loads what the pure
 * recommend() needs (the order, the customer's history, the neighbours of the order's
 * products, best-sellers and the candidate products) and turns its answer into the
 * suggestions a template renders.
 */
import { sql } from 'drizzle-orm';
import type { Suggestion } from '../core/render-context.ts';
import { indexCatalog, recommend, type CatalogProduct, type Neighbour, type Rules, type Strategy } from '../core/recommend.ts';
import { jsonParam, queryRows, type Db } from '../db/client.ts';

export interface RecommendRequest {
  customerId: number;
  orderId: number;
  strategy: Strategy;
  rules: Rules;
  recommendations?: number;
  upsells?: number;
}

interface ProductRow {
  id: number;
  sku: string;
  name: string;
  category: string;
  price: string;
  tier: number | null;
  in_stock: boolean;
  url: string | null;
  image_url: string | null;
}

export async function recommendationsFor(db: Db, request: RecommendRequest): Promise<{ recommendations: Suggestion[]; upsells: Suggestion[] }> {
  const orderProducts = (await queryRows<{ product_id: number }>(db, sql`select product_id from order_items where order_id = ${request.orderId}`)).map((r) => r.product_id);
  // The customer's history up to and including the trigger order.
  const owned = (
    await queryRows<{ product_id: number }>(
      db,
      sql`select distinct oi.product_id from order_items oi join orders o on o.id = oi.order_id
          where o.customer_id = ${request.customerId}
            and o.ordered_at <= (select ordered_at from orders where id = ${request.orderId})`,
    )
  ).map((r) => r.product_id);
  const neighbourRows = await queryRows<{ product_id: number; related_product_id: number; pair_orders: number; confidence: number; lift: number; score: number }>(
    db,
    sql`select product_id, related_product_id, pair_orders, confidence, lift, score from copurchase_pairs
        where product_id in (select (jsonb_array_elements_text(${jsonParam(orderProducts)}))::int)
        order by product_id, score desc`,
  );
  const bestSellers = await bestSellerList(db);
  const ruleSkus = [...request.rules.pin.map((p) => p.sku), ...request.rules.alwaysPair.flatMap((p) => [p.sku, ...p.with])];

  // Candidates: the order's products, their categories (upsells), neighbours, best-sellers, rule skus.
  const products = await queryRows<ProductRow>(
    db,
    sql`select id, sku, name, category, price::text as price, tier, in_stock, url, image_url from products p
        where p.id in (select (jsonb_array_elements_text(${jsonParam([...orderProducts, ...neighbourRows.map((n) => n.related_product_id), ...bestSellers.map((b) => b.productId)])}))::int)
           or p.category in (select category from products where id in (select (jsonb_array_elements_text(${jsonParam(orderProducts)}))::int))
           or p.sku in (select jsonb_array_elements_text(${jsonParam(ruleSkus)}))`,
  );
  const rows = new Map(products.map((p) => [p.id, p]));
  const catalog = indexCatalog(products.map(toCatalogProduct));
  const neighbours = new Map<number, Neighbour[]>();
  for (const n of neighbourRows) {
    const list = neighbours.get(n.product_id) ?? [];
    list.push({ productId: n.related_product_id, pairOrders: n.pair_orders, confidence: n.confidence, lift: n.lift, score: n.score });
    neighbours.set(n.product_id, list);
  }
  const result = recommend({
    orderProductIds: orderProducts,
    ownedProductIds: owned,
    catalog,
    neighbours,
    bestSellers,
    rules: request.rules,
    strategy: request.strategy,
    limits: { recommendations: request.recommendations ?? 4, upsells: request.upsells ?? 2 },
  });
  const toSuggestion = (r: { productId: number; reason: string }): Suggestion => {
    const p = rows.get(r.productId)!;
    return { sku: p.sku, name: p.name, category: p.category, price: p.price, url: p.url ?? '', image: p.image_url ?? '', reason: r.reason };
  };
  return { recommendations: result.recommendations.map(toSuggestion), upsells: result.upsells.map(toSuggestion) };
}

// Best-sellers change slowly and are read for every email: keep them a minute per database.
const bestSellerCache = new WeakMap<Db, { at: number; rows: Promise<{ productId: number; orders: number }[]> }>();
const BEST_SELLER_TTL_MS = 60_000;

async function bestSellerList(db: Db): Promise<{ productId: number; orders: number }[]> {
  const cached = bestSellerCache.get(db);
  if (cached && Date.now() - cached.at < BEST_SELLER_TTL_MS) return cached.rows;
  const rows = loadBestSellers(db);
  bestSellerCache.set(db, { at: Date.now(), rows });
  rows.catch(() => bestSellerCache.delete(db));
  return rows;
}

/** Best-sellers from the built statistics, or counted directly when none are built yet. */
async function loadBestSellers(db: Db, limit = 100): Promise<{ productId: number; orders: number }[]> {
  const built = await queryRows<{ product_id: number; orders: number }>(
    db,
    sql`select product_id, orders from copurchase_products order by orders desc, product_id limit ${limit}`,
  );
  const rows = built.length
    ? built
    : await queryRows<{ product_id: number; orders: number }>(
        db,
        sql`select product_id, count(distinct order_id)::int as orders from order_items group by product_id order by 2 desc, 1 limit ${limit}`,
      );
  return rows.map((r) => ({ productId: r.product_id, orders: r.orders }));
}

export function toCatalogProduct(p: { id: number; sku: string; name: string; category: string; price: string; tier: number | null; in_stock: boolean }): CatalogProduct {
  return { id: p.id, sku: p.sku, name: p.name, category: p.category, price: Number(p.price), tier: p.tier, inStock: p.in_stock };
}
