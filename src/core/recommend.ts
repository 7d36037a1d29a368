/**
 * Per-customer recommendations for a trigger order, pure: cross-sell candidates from the
 * co-purchase neighbours of the order's products, merged and re-scored; upsells in the same
 * category at a higher tier or 1.2–3× the price; exclusions, marketer rules, a per-category
 * cap and best-seller fallbacks. Every suggestion carries its reason in words.
 *
 * Two strategies read more than the catalog: `shipping-gap` (co-purchase, but products that
 * close the gap between the trigger order and free shipping first) and `new-arrivals`
 * (products first seen in the last N days, in the categories the customer buys).
 */
import { freeShipping } from './free-shipping.ts';
import { toUnits } from './money.ts';

export type Strategy = 'co-purchase' | 'popularity' | 'upsell-only' | 'shipping-gap' | 'new-arrivals';
export const STRATEGIES: Strategy[] = ['co-purchase', 'popularity', 'upsell-only', 'shipping-gap', 'new-arrivals'];

/** NEW_ARRIVALS_DAYS when unset: a product is new for 30 days after it is first seen. */
export const DEFAULT_NEW_ARRIVALS_DAYS = 30;
const DAY_MS = 86_400_000;

export interface CatalogProduct {
  id: number;
  sku: string;
  name: string;
  category: string;
  price: number;
  tier: number | null;
  inStock: boolean;
  /** When the shop first listed it (products.first_seen_at); new-arrivals reads it, the others do not. */
  firstSeenAt?: Date | undefined;
}

/** Products indexed the ways recommend() looks them up; build once, reuse. */
export interface Catalog {
  byId: Map<number, CatalogProduct>;
  bySku: Map<string, CatalogProduct>;
  byCategory: Map<string, CatalogProduct[]>;
}

export function indexCatalog(products: Iterable<CatalogProduct>): Catalog {
  const catalog: Catalog = { byId: new Map(), bySku: new Map(), byCategory: new Map() };
  for (const p of products) {
    catalog.byId.set(p.id, p);
    catalog.bySku.set(p.sku, p);
    const list = catalog.byCategory.get(p.category);
    if (list) list.push(p);
    else catalog.byCategory.set(p.category, [p]);
  }
  return catalog;
}

export interface Neighbour {
  productId: number;
  pairOrders: number;
  confidence: number;
  lift: number;
  score: number;
}

export interface Rules {
  /** Categories bought again and again (beans, filters): owning one does not exclude it. */
  consumableCategories: string[];
  /** Never suggested. */
  ban: string[];
  /** Suggested first when the order has `whenSku` or something in `whenCategory` (or always). */
  pin: { sku: string; whenSku?: string | undefined; whenCategory?: string | undefined }[];
  /** Whenever `sku` is in the order, suggest these. */
  alwaysPair: { sku: string; with: string[] }[];
  /** At most this many suggestions from one category, for variety. */
  maxPerCategory: number;
}

export const DEFAULT_RULES: Rules = { consumableCategories: [], ban: [], pin: [], alwaysPair: [], maxPerCategory: 2 };

export interface RecommendInput {
  /** Products of the trigger order (may repeat). */
  orderProductIds: number[];
  /** Everything the customer bought before or in this order. */
  ownedProductIds: Iterable<number>;
  catalog: Catalog;
  /** Top neighbours of each product of the order, best first. */
  neighbours: Map<number, Neighbour[]>;
  /** Best-sellers, most orders first, with their order counts. */
  bestSellers: { productId: number; orders: number }[];
  rules: Rules;
  strategy: Strategy;
  limits: { recommendations: number; upsells: number };
  /**
   * For `shipping-gap`: the trigger order's total and SHOP_FREE_SHIPPING_THRESHOLD (decimal
   * strings), and the currency the reason names the gap in. Without a threshold, or with an
   * order at or above it, shipping-gap is exactly co-purchase.
   */
  freeShipping?: { orderTotal: string; threshold: string | undefined; currency: string } | undefined;
  /**
   * For `new-arrivals`: the engine's now (simulated in the demo), NEW_ARRIVALS_DAYS, and the
   * zone the reason's date is written in. The catalog must hold the customer's products (for
   * their categories) and the new products of those categories. Without it nothing is new.
   */
  newArrivals?: { now: Date; days: number; timeZone: string } | undefined;
}

export interface Recommendation {
  productId: number;
  reason: string;
  /** Where it came from, for reports: co-purchase, pin, always-pair, upsell, best-seller, a new arrival, a gap closer. */
  source: 'co-purchase' | 'pin' | 'always-pair' | 'upsell' | 'category-best-seller' | 'best-seller' | 'new-arrival' | 'shipping-gap';
}

export interface RecommendOutput {
  recommendations: Recommendation[];
  upsells: Recommendation[];
}

const percent = (x: number) => `${Math.round(x * 100)}%`;

export function recommend(input: RecommendInput): RecommendOutput {
  const { rules } = input;
  const { byId: catalog, bySku } = input.catalog;
  const inOrder = new Set(input.orderProductIds);
  const owned = new Set(input.ownedProductIds);
  const banned = new Set(rules.ban);
  const consumable = new Set(rules.consumableCategories);
  const orderProducts = [...inOrder].map((id) => catalog.get(id)).filter((p): p is CatalogProduct => p !== undefined);
  const orderCategories = new Set(orderProducts.map((p) => p.category));

  const eligible = (product: CatalogProduct | undefined): product is CatalogProduct =>
    product !== undefined &&
    product.inStock &&
    !inOrder.has(product.id) &&
    !banned.has(product.sku) &&
    (!owned.has(product.id) || consumable.has(product.category));

  // New arrivals are the point of their strategy: none of them is taken as an upsell.
  const fresh = input.strategy === 'new-arrivals' ? newArrivals(input, [...owned, ...inOrder]) : [];
  const isFresh = new Set(fresh.map((p) => p.id));
  const upsells =
    input.strategy === 'popularity'
      ? []
      : pickUpsells(
          input,
          orderProducts,
          (p): p is CatalogProduct => eligible(p) && !isFresh.has(p.id),
          input.strategy === 'upsell-only' ? input.limits.upsells + input.limits.recommendations : input.limits.upsells,
        );
  if (input.strategy === 'upsell-only') return { recommendations: [], upsells };

  const chosen: Recommendation[] = [];
  const taken = new Set<number>(upsells.map((u) => u.productId));
  const perCategory = new Map<string, number>();
  const add = (product: CatalogProduct | undefined, reason: string, source: Recommendation['source'], capped = true) => {
    if (!eligible(product) || taken.has(product.id) || chosen.length >= input.limits.recommendations) return;
    const inCategory = perCategory.get(product.category) ?? 0;
    if (capped && inCategory >= rules.maxPerCategory) return;
    taken.add(product.id);
    perCategory.set(product.category, inCategory + 1);
    chosen.push({ productId: product.id, reason, source });
  };

  // Marketer rules first: pins, then products always paired with something in the order.
  for (const pin of rules.pin) {
    const applies = pin.whenSku
      ? orderProducts.some((p) => p.sku === pin.whenSku)
      : pin.whenCategory
        ? orderCategories.has(pin.whenCategory)
        : true;
    if (applies) add(bySku.get(pin.sku), 'Our pick for you', 'pin', false);
  }
  for (const pair of rules.alwaysPair) {
    const anchor = orderProducts.find((p) => p.sku === pair.sku);
    if (anchor) for (const sku of pair.with) add(bySku.get(sku), `Made to go with your ${anchor.name}`, 'always-pair', false);
  }

  if (input.strategy === 'co-purchase' || input.strategy === 'shipping-gap') {
    const ranked = coPurchaseRanked(input, orderProducts);
    const gap = input.strategy === 'shipping-gap' ? shippingGap(input.freeShipping) : undefined;
    if (gap) {
      // What closes the gap first: the cheapest product priced at or above it among the
      // co-purchase candidates, then among the best-sellers (ties keep their own order).
      const closes = (p: CatalogProduct | undefined): p is CatalogProduct => p !== undefined && priceUnits(p.price) >= gap.units;
      const cheapestFirst = (list: (CatalogProduct | undefined)[]) =>
        list.filter(closes).sort((a, b) => priceUnits(a.price) - priceUnits(b.price));
      for (const product of cheapestFirst(ranked.map((r) => catalog.get(r.productId)))) add(product, gap.reason, 'shipping-gap');
      for (const product of cheapestFirst(input.bestSellers.map((b) => catalog.get(b.productId)))) add(product, gap.reason, 'shipping-gap');
    }
    for (const { productId, reason } of ranked) add(catalog.get(productId), reason, 'co-purchase');
  }

  // new-arrivals: the new products of the customer's categories, newest first.
  for (const product of fresh)
    add(product, `New in ${product.category} since ${dayText(product.firstSeenAt!, input.newArrivals!.timeZone)}`, 'new-arrival');

  // Too few: best-sellers of the order's categories, then overall.
  for (const { productId, orders } of input.bestSellers) {
    const product = catalog.get(productId);
    if (product && orderCategories.has(product.category))
      add(product, `A best-seller in ${product.category} (${orders} orders)`, 'category-best-seller');
  }
  for (const { productId, orders } of input.bestSellers)
    add(catalog.get(productId), `One of our best-sellers (${orders} orders)`, 'best-seller');
  return { recommendations: chosen, upsells };
}

/**
 * Co-purchase candidates, best first: the neighbours of every product in the order merged,
 * a candidate's score the sum of its scores from each anchor (bought with two of your
 * products beats bought with one); its reason names the anchor that contributes most.
 */
function coPurchaseRanked(input: RecommendInput, orderProducts: CatalogProduct[]): { productId: number; reason: string }[] {
  const merged = new Map<number, { score: number; best: Neighbour; anchor: CatalogProduct }>();
  for (const anchor of orderProducts)
    for (const n of input.neighbours.get(anchor.id) ?? []) {
      const entry = merged.get(n.productId);
      if (!entry) merged.set(n.productId, { score: n.score, best: n, anchor });
      else {
        entry.score += n.score;
        if (n.score > entry.best.score) Object.assign(entry, { best: n, anchor });
      }
    }
  return [...merged.entries()]
    .sort((a, b) => b[1].score - a[1].score || a[0] - b[0])
    .map(([productId, { best, anchor }]) => ({
      productId,
      reason: `Bought together with ${anchor.name} by ${percent(best.confidence)} of its buyers`,
    }));
}

/**
 * The products first seen in the `days` before `now` (none after it), in the categories of
 * the customer's products, newest first (ties by id); none without `input.newArrivals`.
 */
function newArrivals(input: RecommendInput, customerProductIds: number[]): CatalogProduct[] {
  if (!input.newArrivals) return [];
  const until = input.newArrivals.now.getTime();
  const since = until - input.newArrivals.days * DAY_MS;
  const categories = new Set<string>();
  for (const productId of customerProductIds) {
    const category = input.catalog.byId.get(productId)?.category;
    if (category !== undefined) categories.add(category);
  }
  return [...categories]
    .flatMap((category) => input.catalog.byCategory.get(category) ?? [])
    .filter((p) => p.firstSeenAt !== undefined && p.firstSeenAt.getTime() >= since && p.firstSeenAt.getTime() <= until)
    .sort((a, b) => b.firstSeenAt!.getTime() - a.firstSeenAt!.getTime() || a.id - b.id);
}

/** A catalog price (a number read from a decimal string) in the money unit of core/money.ts, exact to 1/10,000. */
const priceUnits = (price: number) => Math.round(price * 10_000);

/** What the order was short of free shipping (money units, and the reason in words), or undefined when there is no gap. */
function shippingGap(free: RecommendInput['freeShipping']): { units: number; reason: string } | undefined {
  if (!free?.threshold) return undefined;
  const { gap, reached } = freeShipping(free.orderTotal, free.threshold);
  if (reached) return undefined;
  const money = new Intl.NumberFormat('en', { style: 'currency', currency: free.currency }).format(Number(gap));
  return { units: Number(toUnits(gap)), reason: `Adds the ${money} your order was short of free shipping` };
}

/** "3 December", in the given zone. */
function dayText(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', timeZone }).format(at);
}

/** Same category, a higher tier or 1.2–3× the price of a product in the order; the smallest step up first. */
function pickUpsells(
  input: RecommendInput,
  orderProducts: CatalogProduct[],
  eligible: (p: CatalogProduct | undefined) => p is CatalogProduct,
  limit: number,
): Recommendation[] {
  if (limit <= 0) return [];
  const candidates: { product: CatalogProduct; anchor: CatalogProduct; step: number }[] = [];
  for (const anchor of orderProducts)
    for (const product of input.catalog.byCategory.get(anchor.category) ?? []) {
      if (product.id === anchor.id || !eligible(product)) continue;
      const higherTier = product.tier !== null && anchor.tier !== null && product.tier > anchor.tier;
      const ratio = anchor.price > 0 ? product.price / anchor.price : 0;
      if (!higherTier && !(ratio >= 1.2 && ratio <= 3)) continue;
      candidates.push({ product, anchor, step: ratio });
    }
  candidates.sort((a, b) => a.step - b.step || a.product.id - b.product.id);
  const chosen: Recommendation[] = [];
  const seen = new Set<number>();
  for (const { product, anchor } of candidates) {
    if (seen.has(product.id) || chosen.length >= limit) continue;
    seen.add(product.id);
    const tierWords =
      product.tier !== null && anchor.tier !== null && product.tier > anchor.tier ? ` (tier ${product.tier} vs ${anchor.tier})` : '';
    const extra = anchor.price > 0 ? Math.round((product.price / anchor.price - 1) * 100) : undefined;
    const priceWords = extra === undefined ? '' : `, ${extra >= 0 ? `${extra}% more` : `${-extra}% less`}`;
    chosen.push({
      productId: product.id,
      reason: `A step up from your ${anchor.name}${tierWords}${priceWords}`,
      source: 'upsell',
    });
  }
  return chosen;
}
