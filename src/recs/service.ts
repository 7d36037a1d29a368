/**
 * Recommendations for a customer's trigger order, from the database: loads what the pure
 * recommend() needs (the order, the customer's history, the neighbours of the order's
 * products, best-sellers and the candidate products) and turns its answer into the
 * suggestions a template renders.
 */
import type { Suggestion } from '../core/render-context.ts';
import {
  DEFAULT_NEW_ARRIVALS_DAYS,
  indexCatalog,
  recommend,
  type Catalog,
  type CatalogProduct,
  type Neighbour,
  type Rules,
  type Strategy,
} from '../core/recommend.ts';
import type { Db } from '../db/client.ts';
import {
  bestSellers,
  candidateProducts,
  neighboursOf,
  newProductsInCategoriesOf,
  orderAndOwnedProducts,
  type ProductRow,
} from '../store/catalog.ts';
import { findOrderWithCustomer } from '../store/orders.ts';

export interface RecommendRequest {
  customerId: number;
  orderId: number;
  strategy: Strategy;
  rules: Rules;
  recommendations?: number;
  upsells?: number;
  /**
   * What the shipping-gap and new-arrivals strategies read beyond the catalog. Without it,
   * shipping-gap answers as co-purchase does and new-arrivals finds nothing new (its
   * best-seller fallbacks only).
   */
  settings?: StrategySettings | undefined;
}

/** The moment and the shop settings the shipping-gap and new-arrivals strategies need. */
export interface StrategySettings {
  /** The engine's now (the demo's simulated clock, never the wall clock): what is new is relative to it. */
  now: Date;
  /** NEW_ARRIVALS_DAYS: a product is new this many days after it is first seen. */
  newArrivalsDays: number;
  /** SHOP_FREE_SHIPPING_THRESHOLD (a decimal string); undefined: no free shipping to nudge towards. */
  freeShippingThreshold: string | undefined;
  /** The shop's currency (the gap in the shipping-gap reason) and zone (the day in the new-arrivals reason). */
  currency: string;
  timeZone: string;
}

/** The strategy settings from the shop's settings and the engine's now. */
export function strategySettings(
  shop: { currency: string; timezone: string; freeShippingThreshold?: string | undefined },
  now: Date,
  newArrivalsDays: number | undefined,
): StrategySettings {
  return {
    now,
    newArrivalsDays: newArrivalsDays ?? DEFAULT_NEW_ARRIVALS_DAYS,
    freeShippingThreshold: shop.freeShippingThreshold,
    currency: shop.currency,
    timeZone: shop.timezone,
  };
}

export interface Recommended {
  recommendations: Suggestion[];
  upsells: Suggestion[];
}

export async function recommendationsFor(db: Db, request: RecommendRequest): Promise<Recommended> {
  return (await recommenderFor(db, request))(request.strategy, request);
}

/** Answers for one strategy from the loaded inputs (see {@link recommenderFor}). */
export type Recommender = (strategy: Strategy, limits?: { recommendations?: number; upsells?: number }) => Promise<Recommended>;

/**
 * Loads once what recommend() needs for one customer's order (the order, the customer's
 * history, the neighbours, best-sellers, the candidate products) and returns a function that
 * answers for any strategy from it: enrollment asks every strategy a sequence uses, and one
 * load serves them all. What only one strategy reads (the order's total for shipping-gap,
 * the new products for new-arrivals) is loaded when that strategy is first asked.
 */
export async function recommenderFor(db: Db, request: Omit<RecommendRequest, 'strategy'>): Promise<Recommender> {
  return (await recommendersFor(db, [request]))[0]!;
}

/**
 * {@link recommenderFor} for many orders at once, in the same few statements whatever their
 * number (the orders' and owned products, the neighbours, the candidates; best-sellers are
 * cached): a batch of steps or enrollments loads its recommendations together. Each order's
 * recommender sees exactly the inputs a load of its own would have read: the neighbours of
 * its products and the candidates of its query, picked from the batch's rows.
 */
export async function recommendersFor(db: Db, requests: readonly Omit<RecommendRequest, 'strategy'>[]): Promise<Recommender[]> {
  if (requests.length === 0) return [];
  const products = await orderAndOwnedProducts(db, requests);
  const inputsOf = (orderId: number) => products.get(orderId) ?? { orderProducts: [], owned: [] };
  const allOrderProducts = [...new Set(requests.flatMap((r) => inputsOf(r.orderId).orderProducts))];
  const allNeighbours = await neighboursOf(db, allOrderProducts);
  const popular = await bestSellerList(db);
  const ruleSkusOf = (rules: Rules) => [...rules.pin.map((p) => p.sku), ...rules.alwaysPair.flatMap((p) => [p.sku, ...p.with])];
  const allCandidates = await candidateProducts(db, {
    ids: [...allOrderProducts, ...allNeighbours.map((n) => n.related_product_id), ...popular.map((b) => b.productId)],
    categoryOf: allOrderProducts,
    skus: [...new Set(requests.flatMap((r) => ruleSkusOf(r.rules)))],
  });
  const byId = new Map(allCandidates.map((p) => [p.id, p]));
  return requests.map((request) => {
    const { orderProducts, owned } = inputsOf(request.orderId);
    const inOrder = new Set(orderProducts);
    const neighbourRows = allNeighbours.filter((n) => inOrder.has(n.product_id));
    // The candidates a load for this order alone reads (candidateProducts' three conditions).
    const ids = new Set([...orderProducts, ...neighbourRows.map((n) => n.related_product_id), ...popular.map((b) => b.productId)]);
    const categories = new Set(orderProducts.flatMap((id) => byId.get(id)?.category ?? []));
    const skus = new Set(ruleSkusOf(request.rules));
    const candidates = allCandidates.filter((p) => ids.has(p.id) || categories.has(p.category) || skus.has(p.sku));
    return recommenderFrom(db, request, { orderProducts, owned, neighbourRows, popular, products: candidates });
  });
}

/** What one order's recommender is built from (see {@link recommendersFor}). */
interface RecommenderInputs {
  orderProducts: number[];
  owned: number[];
  neighbourRows: Awaited<ReturnType<typeof neighboursOf>>;
  popular: { productId: number; orders: number }[];
  products: ProductRow[];
}

/** The recommender of one order from its loaded inputs. */
function recommenderFrom(db: Db, request: Omit<RecommendRequest, 'strategy'>, inputs: RecommenderInputs): Recommender {
  const { orderProducts, owned, neighbourRows, popular, products } = inputs;
  const rows = new Map<number, ProductRow>(products.map((p) => [p.id, p]));
  const catalog = indexCatalog(products.map(toCatalogProduct));
  const { settings } = request;
  const threshold = settings?.freeShippingThreshold;
  let orderTotal: Promise<string | undefined> | undefined;
  let newArrivals: Promise<Catalog> | undefined;
  // The catalog new-arrivals reads: the candidates, the customer's products (their
  // categories are the ones new arrivals come from) and the new products of those categories.
  const loadNewArrivals = async (s: StrategySettings): Promise<Catalog> => {
    const [ownedRows, fresh] = await Promise.all([
      candidateProducts(db, { ids: owned, categoryOf: [], skus: [] }),
      newProductsInCategoriesOf(db, {
        categoryOf: owned,
        since: new Date(s.now.getTime() - s.newArrivalsDays * 86_400_000),
        until: s.now,
      }),
    ]);
    for (const p of ownedRows) if (!rows.has(p.id)) rows.set(p.id, p);
    for (const p of fresh) rows.set(p.id, p);
    return indexCatalog([...rows.values()].map(toCatalogProduct));
  };
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
  return async (strategy, limits = request) => {
    let strategyCatalog = catalog;
    let freeShipping;
    if (strategy === 'shipping-gap' && settings && threshold !== undefined) {
      orderTotal ??= findOrderWithCustomer(db, request.orderId).then((o) => o?.total);
      const total = await orderTotal;
      if (total !== undefined) freeShipping = { orderTotal: total, threshold, currency: settings.currency };
    }
    if (strategy === 'new-arrivals' && settings) strategyCatalog = await (newArrivals ??= loadNewArrivals(settings));
    const result = recommend({
      orderProductIds: orderProducts,
      ownedProductIds: owned,
      catalog: strategyCatalog,
      neighbours,
      bestSellers: popular,
      rules: request.rules,
      strategy,
      limits: { recommendations: limits.recommendations ?? 4, upsells: limits.upsells ?? 2 },
      freeShipping,
      newArrivals: settings && { now: settings.now, days: settings.newArrivalsDays, timeZone: settings.timeZone },
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
  first_seen_at?: Date | undefined;
}): CatalogProduct {
  return {
    id: p.id,
    sku: p.sku,
    name: p.name,
    category: p.category,
    price: Number(p.price),
    tier: p.tier,
    inStock: p.in_stock,
    firstSeenAt: p.first_seen_at,
  };
}
