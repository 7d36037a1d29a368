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

/**
 * The days between consecutive purchases in `times` (epoch ms, any order): a purchase less
 * than a day after the one before it is part of that one (a second order for something
 * forgotten is not a refill), so it is dropped and the next gap runs from the purchase kept.
 * The same rule as the learning in SQL (src/store/replenish.ts): lag over all purchases to
 * drop, lag over those kept to measure.
 */
export function repeatGaps(times: readonly number[]): number[] {
  const sorted = [...times].sort((a, b) => a - b);
  const kept = sorted.filter((t, i) => i === 0 || t - sorted[i - 1]! >= DAY);
  return kept.slice(1).map((t, i) => (t - kept[i]!) / DAY);
}

/** Every customer's gaps per key (`repeatGaps`), customers without a repeat left out. */
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
      const gaps = repeatGaps(list);
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

/** What is known of one product when its refill is timed: the customer's own gaps, the product's and its category's learned figures. */
export interface KnownIntervals {
  own: readonly number[];
  product?: IntervalStats | undefined;
  category?: IntervalStats | undefined;
}

/**
 * The refill delay from what is known of one product: the customer's own median when they
 * have `minimum.own` gaps of it, else the product's median when it has `minimum.shop`
 * intervals, else its category's; `leadDays` earlier (a reminder before they run out), never
 * before the purchase. Undefined when nothing is trusted: the step falls back.
 */
export function chooseReplenish(
  known: KnownIntervals,
  leadDays = 0,
  minimum: { own: number; shop: number } = { own: MIN_OWN_INTERVALS, shop: MIN_INTERVALS },
): ReplenishDelay | undefined {
  const result = (source: ReplenishSource, stats: IntervalStats): ReplenishDelay => ({
    days: Math.max(0, stats.median - leadDays),
    source,
    stats,
  });
  if (known.own.length >= minimum.own) return result('customer', intervalStats(known.own)!);
  if (known.product && known.product.n >= minimum.shop) return result('product', known.product);
  if (known.category && known.category.n >= minimum.shop) return result('category', known.category);
  return undefined;
}

/**
 * When a refill of `sku` bought by `customer` is due, from a whole history in memory (the
 * direct computation the stored learning is tested against, and the backtest's model).
 */
export function replenishDelay(
  learned: RepurchaseIntervals,
  request: { sku: string; customer?: string | undefined; leadDays?: number | undefined },
  minimum: { own: number; shop: number } = { own: MIN_OWN_INTERVALS, shop: MIN_INTERVALS },
): ReplenishDelay | undefined {
  const category = learned.categoryOf.get(request.sku);
  return chooseReplenish(
    {
      own: request.customer === undefined ? [] : (learned.bySku.get(request.sku)?.get(request.customer) ?? []),
      product: intervalStats(pooled(learned.bySku.get(request.sku))),
      category: category === undefined ? undefined : intervalStats(pooled(learned.byCategory.get(category))),
    },
    request.leadDays,
    minimum,
  );
}

/** The refill of an order with several products: the first of them to run out; the sku it is for. */
export function orderReplenish(
  lines: readonly { sku: string; known: KnownIntervals }[],
  leadDays = 0,
  minimum?: { own: number; shop: number },
): (ReplenishDelay & { sku: string }) | undefined {
  let first: (ReplenishDelay & { sku: string }) | undefined;
  for (const { sku, known } of lines) {
    const delay = chooseReplenish(known, leadDays, minimum);
    if (delay && (!first || delay.days < first.days)) first = { ...delay, sku };
  }
  return first;
}

/** A refill step with nothing learned waits this long, as the fixed delay it replaces did. */
export const REPLENISH_FALLBACK_DAYS = 28;
/** A learned refill never waits longer than this: the measurement window counts on it. */
export const REPLENISH_MAX_DAYS = 90;

/**
 * The days a refill step waits after the order: the learned median interval (or the
 * fallback) less the lead, within 0 and `REPLENISH_MAX_DAYS`.
 */
export function refillDays(learnedDays: number | null | undefined, leadDays: number): number {
  return Math.min(REPLENISH_MAX_DAYS, Math.max(0, (learnedDays ?? REPLENISH_FALLBACK_DAYS) - leadDays));
}

/** One purchase in the backtest: bought again `actual` days later, predicted at `learned` (or nothing learned) against the fixed delay. */
interface BacktestCase {
  actual: number;
  learned: ReplenishDelay | undefined;
}

/** How far the learned delay and a fixed one fall from the day a product was actually bought again. */
export interface ReplenishBacktest {
  /** Purchases from the cutoff on that the same customer bought again. */
  cases: number;
  /** Of them, those with something learned (the rest fall back to the fixed delay in both columns). */
  learnedCases: number;
  bySource: Record<ReplenishSource, number>;
  fixedDays: number;
  /** Mean and median absolute error, in days, of the learned timing (the fixed delay where nothing is learned). */
  learned: { meanAbsError: number; medianAbsError: number };
  fixed: { meanAbsError: number; medianAbsError: number };
}

const errors = (values: number[]) =>
  values.length === 0
    ? { meanAbsError: 0, medianAbsError: 0 }
    : { meanAbsError: values.reduce((a, b) => a + b, 0) / values.length, medianAbsError: quantile(values, 0.5) };

/**
 * The replenishment backtest: intervals learned from the purchases before `cutoff`; for each
 * purchase from the cutoff on that its customer bought again (the next purchase kept by
 * `repeatGaps`), the predicted delay, with the customer's own rhythm from their purchases up
 * to that one, against the actual gap; beside a fixed delay of `fixedDays`. Purchases never
 * bought again have no actual day and are not scored.
 */
export function replenishBacktest(
  purchases: readonly Purchase[],
  cutoff: Date,
  fixedDays: number = REPLENISH_FALLBACK_DAYS,
  minimum?: { own: number; shop: number },
): ReplenishBacktest {
  const train = repurchaseIntervals(purchases.filter((p) => p.at < cutoff));
  const timesOf = new Map<string, number[]>();
  for (const p of purchases) {
    const key = `${p.customer}\u0000${p.sku}`;
    const list = timesOf.get(key) ?? [];
    list.push(p.at.getTime());
    timesOf.set(key, list);
  }
  const categoryOf = new Map(purchases.map((p) => [p.sku, p.category]));
  const product = new Map<string, IntervalStats | undefined>();
  const category = new Map<string, IntervalStats | undefined>();
  const cases: BacktestCase[] = [];
  for (const [key, times] of timesOf) {
    const [, sku] = key.split('\u0000') as [string, string];
    const sorted = [...times].sort((a, b) => a - b);
    const kept = sorted.filter((t, i) => i === 0 || t - sorted[i - 1]! >= DAY);
    if (!product.has(sku)) product.set(sku, intervalStats(pooled(train.bySku.get(sku))));
    const cat = categoryOf.get(sku)!;
    if (!category.has(cat)) category.set(cat, intervalStats(pooled(train.byCategory.get(cat))));
    for (let i = 0; i + 1 < kept.length; i++) {
      if (kept[i]! < cutoff.getTime()) continue;
      const own = repeatGaps(kept.slice(0, i + 1));
      const learned = chooseReplenish({ own, product: product.get(sku), category: category.get(cat) }, 0, minimum);
      cases.push({ actual: (kept[i + 1]! - kept[i]!) / DAY, learned });
    }
  }
  const bySource: Record<ReplenishSource, number> = { customer: 0, product: 0, category: 0 };
  for (const c of cases) if (c.learned) bySource[c.learned.source] += 1;
  return {
    cases: cases.length,
    learnedCases: cases.filter((c) => c.learned).length,
    bySource,
    fixedDays,
    learned: errors(cases.map((c) => Math.abs((c.learned?.days ?? fixedDays) - c.actual))),
    fixed: errors(cases.map((c) => Math.abs(fixedDays - c.actual))),
  };
}
