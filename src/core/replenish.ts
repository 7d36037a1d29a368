/**
 * Learned replenishment, the pure part: how many days customers take to buy a product, or
 * anything of its category, again, and when a refill email should therefore go. Pure.
 *
 * An interval is the time between two consecutive purchases of the same product (or of the
 * same category) by the same customer; purchases less than a day apart are one purchase (a
 * second order to add something forgotten is not a refill). A product's intervals are
 * trusted from `MIN_INTERVALS` on; below that its category's stand in, and below that too
 * nothing is learned and a sequence keeps its fixed delay. A customer with their own
 * rhythm (at least `MIN_OWN_INTERVALS` intervals of the product) goes by their own median.
 */
import { quantile } from './decide.ts';

const DAY = 86_400_000;

/** Intervals a product (or category) needs before its median is trusted. */
export const MIN_INTERVALS = 20;
/** Intervals of a customer's own before their rhythm beats the product's. */
export const MIN_OWN_INTERVALS = 2;

/** One line of a customer's order history. */
export interface Purchase {
  customer: string;
  sku: string;
  category: string;
  at: Date;
}

/** Days between repeat purchases: how many, the median and the quartiles (NumPy's linear quantiles). */
export interface IntervalStats {
  n: number;
  median: number;
  q1: number;
  q3: number;
}

/** The days between consecutive purchases of one customer, per key; purchases under a day apart count once. */
function intervalsBy(purchases: readonly Purchase[], keyOf: (p: Purchase) => string): Map<string, Map<string, number[]>> {
  const times = new Map<string, Map<string, number[]>>();
  for (const p of purchases) {
    const key = keyOf(p);
    const byCustomer = times.get(key) ?? new Map<string, number[]>();
    const list = byCustomer.get(p.customer) ?? [];
    list.push(p.at.getTime());
    byCustomer.set(p.customer, list);
    times.set(key, byCustomer);
  }
  const intervals = new Map<string, Map<string, number[]>>();
  for (const [key, byCustomer] of times) {
    const perCustomer = new Map<string, number[]>();
    for (const [customer, list] of byCustomer) {
      list.sort((a, b) => a - b);
      const gaps: number[] = [];
      let last = list[0]!;
      for (const t of list.slice(1)) {
        if (t - last < DAY) continue;
        gaps.push((t - last) / DAY);
        last = t;
      }
      if (gaps.length) perCustomer.set(customer, gaps);
    }
    intervals.set(key, perCustomer);
  }
  return intervals;
}

/** The count, median and quartiles of some intervals; undefined when there are none. */
export function intervalStats(days: readonly number[]): IntervalStats | undefined {
  if (days.length === 0) return undefined;
  return { n: days.length, median: quantile(days, 0.5), q1: quantile(days, 0.25), q3: quantile(days, 0.75) };
}

/** What is learned from an order history: per sku and per category, every customer's intervals. */
export interface RepurchaseIntervals {
  bySku: Map<string, Map<string, number[]>>;
  byCategory: Map<string, Map<string, number[]>>;
  /** The category of each sku seen. */
  categoryOf: Map<string, string>;
}

export function repurchaseIntervals(purchases: readonly Purchase[]): RepurchaseIntervals {
  return {
    bySku: intervalsBy(purchases, (p) => p.sku),
    byCategory: intervalsBy(purchases, (p) => p.category),
    categoryOf: new Map(purchases.map((p) => [p.sku, p.category])),
  };
}

/** Every customer's intervals of a key, together. */
const pooled = (perCustomer: Map<string, number[]> | undefined) => [...(perCustomer?.values() ?? [])].flat();

/** Where a refill delay comes from: the customer's own rhythm, the product's, or its category's. */
export type ReplenishSource = 'customer' | 'product' | 'category';

export interface ReplenishDelay {
  /** Days after the purchase the step goes: the median interval less the lead, at least 0. */
  days: number;
  source: ReplenishSource;
  stats: IntervalStats;
}

/**
 * When a refill of `sku` bought by `customer` is due: the customer's own median interval of
 * the product when they have `MIN_OWN_INTERVALS` of them, else the product's median when it
 * has `MIN_INTERVALS`, else its category's; `leadDays` earlier (a reminder a few days before
 * they run out). Undefined when nothing is learned: the step keeps its fixed delay.
 */
export function replenishDelay(
  learned: RepurchaseIntervals,
  request: { sku: string; customer?: string | undefined; leadDays?: number | undefined },
  minimum: { own: number; shop: number } = { own: MIN_OWN_INTERVALS, shop: MIN_INTERVALS },
): ReplenishDelay | undefined {
  const lead = request.leadDays ?? 0;
  const result = (source: ReplenishSource, days: readonly number[]): ReplenishDelay => {
    const stats = intervalStats(days)!;
    return { days: Math.max(0, stats.median - lead), source, stats };
  };
  const own = request.customer === undefined ? [] : (learned.bySku.get(request.sku)?.get(request.customer) ?? []);
  if (own.length >= minimum.own) return result('customer', own);
  const product = pooled(learned.bySku.get(request.sku));
  if (product.length >= minimum.shop) return result('product', product);
  const category = learned.categoryOf.get(request.sku);
  const inCategory = category === undefined ? [] : pooled(learned.byCategory.get(category));
  if (inCategory.length >= minimum.shop) return result('category', inCategory);
  return undefined;
}
