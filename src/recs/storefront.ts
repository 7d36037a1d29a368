/**
 * Storefront recommendations, answered from memory: the same pure recommend() the emails
 * use (src/core/recommend.ts), fed with the same knowledge (products, the neighbours `recs
 * build` stored, best-sellers), but loaded once into a snapshot instead of per order, so a
 * product page or a cart is answered without a query (a customer's owned products aside).
 *
 * A cart stands for the trigger order: its skus are the order's products and, for a named
 * customer, everything they bought is owned, as the email of an order placed now would see
 * it. The snapshot holds every product, a superset of the candidates the email path loads,
 * so the answers (products, order, reasons) are the emails' own.
 *
 * Refresh: at most once per `refreshMs`, one request asks when the statistics were built
 * (copurchase_state.built_at, one row); when `recs build` has run since the snapshot was
 * loaded, or the snapshot is older than `maxAgeMs` (so catalog changes, prices and stock,
 * arrive too), that request reloads it while the others keep answering from the old one.
 */
import { lineTotal } from '../core/money.ts';
import { indexCatalog, recommend, type Catalog, type Neighbour, type Rules, type Strategy } from '../core/recommend.ts';
import type { Db } from '../db/client.ts';
import { bestSellers } from '../store/catalog.ts';
import { allProductsSeen, type NewProductRow } from '../store/catalog.ts';
import { allNeighbours, statisticsBuiltAt } from '../store/storefront.ts';
import { toCatalogProduct, type StrategySettings } from './service.ts';

/** Everything the recommender reads, as of one load. */
export interface StorefrontSnapshot {
  /** copurchase_state.built_at when loaded (null: never built; best-sellers come from order lines then). */
  builtAt: Date | null;
  /** When it was loaded (ms since the epoch). */
  loadedAt: number;
  catalog: Catalog;
  /** The products as stored, for the fields a card shows (url, image, the price as a decimal string). */
  rows: Map<number, NewProductRow>;
  neighbours: Map<number, Neighbour[]>;
  bestSellers: { productId: number; orders: number }[];
}

/** Loads a snapshot: built_at first, so a build committed during the load is seen at the next check. */
export async function loadSnapshot(db: Db, now = Date.now()): Promise<StorefrontSnapshot> {
  const builtAt = await statisticsBuiltAt(db);
  const [products, pairs, popular] = await Promise.all([allProductsSeen(db), allNeighbours(db), bestSellers(db)]);
  const neighbours = new Map<number, Neighbour[]>();
  for (const n of pairs) {
    const list = neighbours.get(n.product_id) ?? [];
    list.push({ productId: n.related_product_id, pairOrders: n.pair_orders, confidence: n.confidence, lift: n.lift, score: n.score });
    neighbours.set(n.product_id, list);
  }
  return {
    builtAt,
    loadedAt: now,
    catalog: indexCatalog(products.map(toCatalogProduct)),
    rows: new Map(products.map((p) => [p.id, p])),
    neighbours,
    bestSellers: popular,
  };
}

/** A line of the cart (or the product shown: quantity 1). */
export interface CartLine {
  sku: string;
  quantity: number;
}

export interface StorefrontQuestion {
  lines: CartLine[];
  /** The customer's products (empty for a visitor). */
  owned: number[];
  strategy: Strategy;
  rules: Rules;
  limits: { recommendations: number; upsells: number };
  /** The shop settings and now that shipping-gap and new-arrivals read, as the emails get them. */
  settings?: StrategySettings | undefined;
}

/** One suggestion: the emails' fields, and the product's id for the tracked link. */
export interface StorefrontSuggestion {
  productId: number;
  sku: string;
  name: string;
  category: string;
  price: string;
  url: string;
  image: string;
  reason: string;
}

export interface StorefrontAnswer {
  recommendations: StorefrontSuggestion[];
  upsells: StorefrontSuggestion[];
  /** The skus asked about that the catalog does not hold, in the order given: ignored. */
  unknownSkus: string[];
}

/**
 * The recommendations for a cart, pure: recommend() on the snapshot with the cart as the
 * order. Unknown skus are left out and listed (a theme may show products not synced yet);
 * shipping-gap reads the cart's total at today's prices.
 */
export function answerFromSnapshot(snapshot: StorefrontSnapshot, question: StorefrontQuestion): StorefrontAnswer {
  const orderProductIds: number[] = [];
  const unknown = new Set<string>();
  const priced: { quantity: number; unitPrice: string }[] = [];
  for (const line of question.lines) {
    const product = snapshot.catalog.bySku.get(line.sku);
    if (!product) {
      unknown.add(line.sku);
      continue;
    }
    orderProductIds.push(product.id);
    priced.push({ quantity: line.quantity, unitPrice: snapshot.rows.get(product.id)!.price });
  }
  const { settings } = question;
  const result = recommend({
    orderProductIds,
    ownedProductIds: question.owned,
    catalog: snapshot.catalog,
    neighbours: snapshot.neighbours,
    bestSellers: snapshot.bestSellers,
    rules: question.rules,
    strategy: question.strategy,
    limits: question.limits,
    freeShipping:
      question.strategy === 'shipping-gap' && settings?.freeShippingThreshold !== undefined
        ? { orderTotal: lineTotal(priced), threshold: settings.freeShippingThreshold, currency: settings.currency }
        : undefined,
    newArrivals: settings && { now: settings.now, days: settings.newArrivalsDays, timeZone: settings.timeZone },
  });
  const toSuggestion = (r: { productId: number; reason: string }): StorefrontSuggestion => {
    const p = snapshot.rows.get(r.productId)!;
    return {
      productId: p.id,
      sku: p.sku,
      name: p.name,
      category: p.category,
      price: p.price,
      url: p.url ?? '',
      image: p.image_url ?? '',
      reason: r.reason,
    };
  };
  return {
    recommendations: result.recommendations.map(toSuggestion),
    upsells: result.upsells.map(toSuggestion),
    unknownSkus: [...unknown],
  };
}

/** True when a snapshot must be reloaded: the statistics were rebuilt since, or it is older than `maxAgeMs`. */
export function snapshotStale(
  snapshot: Pick<StorefrontSnapshot, 'builtAt' | 'loadedAt'>,
  builtAt: Date | null,
  now: number,
  maxAgeMs: number,
): boolean {
  return (builtAt?.getTime() ?? null) !== (snapshot.builtAt?.getTime() ?? null) || now - snapshot.loadedAt >= maxAgeMs;
}

export interface SnapshotCache {
  /** The current snapshot; the first call loads it, and one call per `refreshMs` checks it is current. */
  get(): Promise<StorefrontSnapshot>;
  /** The snapshot loaded last, without any check or load (undefined before the first). */
  peek(): StorefrontSnapshot | undefined;
}

export const DEFAULT_SNAPSHOT_MAX_AGE_MS = 5 * 60_000;

/**
 * The in-process snapshot of one database. Loads are shared (one at a time); a failed check
 * or reload keeps the old snapshot (logged by `onError`) and is tried again after `refreshMs`.
 */
export function snapshotCache(
  db: Db,
  options: { refreshMs: number; maxAgeMs?: number; now?: () => number; onError?: (error: unknown) => void },
): SnapshotCache {
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_SNAPSHOT_MAX_AGE_MS;
  let current: StorefrontSnapshot | undefined;
  let first: Promise<StorefrontSnapshot> | undefined;
  let checking = false;
  let checkedAt = 0;

  const check = async (snapshot: StorefrontSnapshot): Promise<StorefrontSnapshot> => {
    checking = true;
    checkedAt = now();
    try {
      if (snapshotStale(snapshot, await statisticsBuiltAt(db), now(), maxAgeMs)) current = await loadSnapshot(db, now());
    } catch (error) {
      options.onError?.(error);
    } finally {
      checking = false;
    }
    return current!;
  };

  return {
    async get() {
      if (!current) {
        first ??= loadSnapshot(db, now()).then(
          (snapshot) => {
            checkedAt = now();
            return (current = snapshot);
          },
          (error: unknown) => {
            first = undefined;
            throw error;
          },
        );
        return first;
      }
      if (!checking && now() - checkedAt >= options.refreshMs) return check(current);
      return current;
    },
    peek: () => current,
  };
}
