/**
 * Recommendations for a customer's trigger order, from the database: loads what the pure
 * recommend() needs (the order, the customer's history, the neighbours of the order's
 * products, best-sellers and the candidate products) and turns its answer into the
 * suggestions a template renders.
 */
import type { Suggestion } from '../core/render-context.ts';
import { indexCatalog, recommend, type CatalogProduct, type Neighbour, type Rules, type Strategy } from '../core/recommend.ts';
import type { Db } from '../db/client.ts';
import { bestSellers, candidateProducts, neighboursOf, orderProductIds, ownedProductIds } from '../store/catalog.ts';

export interface RecommendRequest {
  customerId: number;
  orderId: number;
  strategy: Strategy;
  rules: Rules;
  recommendations?: number;
  upsells?: number;
}

export interface Recommended {
  recommendations: Suggestion[];
  upsells: Suggestion[];
}

export async function recommendationsFor(db: Db, request: RecommendRequest): Promise<Recommended> {
  return (await recommenderFor(db, request))(request.strategy, request);
}

/**
 * Loads once what recommend() needs for one customer's order (the order, the customer's
 * history, the neighbours, best-sellers, the candidate products) and returns a function that
 * answers for any strategy from it: enrollment asks every strategy a sequence uses, and one
 * load serves them all.
 */
export async function recommenderFor(
  db: Db,
  request: Omit<RecommendRequest, 'strategy'>,
): Promise<(strategy: Strategy, limits?: { recommendations?: number; upsells?: number }) => Recommended> {
  const orderProducts = await orderProductIds(db, request.orderId);
  // The customer's history up to and including the trigger order.
  const owned = await ownedProductIds(db, request.customerId, request.orderId);
  const neighbourRows = await neighboursOf(db, orderProducts);
  const popular = await bestSellerList(db);
  const ruleSkus = [...request.rules.pin.map((p) => p.sku), ...request.rules.alwaysPair.flatMap((p) => [p.sku, ...p.with])];

  // Candidates: the order's products, their categories (upsells), neighbours, best-sellers, rule skus.
  const products = await candidateProducts(db, {
    ids: [...orderProducts, ...neighbourRows.map((n) => n.related_product_id), ...popular.map((b) => b.productId)],
    categoryOf: orderProducts,
    skus: ruleSkus,
  });
  const rows = new Map(products.map((p) => [p.id, p]));
  const catalog = indexCatalog(products.map(toCatalogProduct));
  const neighbours = new Map<number, Neighbour[]>();
  for (const n of neighbourRows) {
    const list = neighbours.get(n.product_id) ?? [];
    list.push({ productId: n.related_product_id, pairOrders: n.pair_orders, confidence: n.confidence, lift: n.lift, score: n.score });
    neighbours.set(n.product_id, list);
  }
  const toSuggestion = (r: { productId: number; reason: string }): Suggestion => {
    const p = rows.get(r.productId)!;
    return { sku: p.sku, name: p.name, category: p.category, price: p.price, url: p.url ?? '', image: p.image_url ?? '', reason: r.reason };
  };
  return (strategy, limits = request) => {
    const result = recommend({
      orderProductIds: orderProducts,
      ownedProductIds: owned,
      catalog,
      neighbours,
      bestSellers: popular,
      rules: request.rules,
      strategy,
      limits: { recommendations: limits.recommendations ?? 4, upsells: limits.upsells ?? 2 },
    });
    return { recommendations: result.recommendations.map(toSuggestion), upsells: result.upsells.map(toSuggestion) };
  };
}

// Best-sellers change slowly and are read for every email: keep them a minute per database.
const bestSellerCache = new WeakMap<Db, { at: number; rows: Promise<{ productId: number; orders: number }[]> }>();
const BEST_SELLER_TTL_MS = 60_000;

async function bestSellerList(db: Db): Promise<{ productId: number; orders: number }[]> {
  const cached = bestSellerCache.get(db);
  if (cached && Date.now() - cached.at < BEST_SELLER_TTL_MS) return cached.rows;
  const rows = bestSellers(db);
  bestSellerCache.set(db, { at: Date.now(), rows });
  rows.catch(() => bestSellerCache.delete(db));
  return rows;
}

export function toCatalogProduct(p: {
  id: number;
  sku: string;
  name: string;
  category: string;
  price: string;
  tier: number | null;
  in_stock: boolean;
}): CatalogProduct {
  return { id: p.id, sku: p.sku, name: p.name, category: p.category, price: Number(p.price), tier: p.tier, inStock: p.in_stock };
}
