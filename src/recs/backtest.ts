/**
 * Backtest of the recommender on the shop's own history: train the statistics on orders
 * before a cut-off; for each later order with two or more products, hide one, recommend
 * from the rest (with the customer's earlier history as owned), and count a hit when the
 * hidden product is among the top k. The same trials are run with the popularity strategy
 * (best-sellers of the order's categories, then overall) as the baseline.
 */
import { CoPurchaseCounter } from '../core/copurchase.ts';
import { indexCatalog, recommend, type Neighbour, type Rules, type Strategy } from '../core/recommend.ts';
import type { Db } from '../db/client.ts';
import { allProducts, orderHistory } from '../store/catalog.ts';
import { prng } from '../core/random.ts';
import { toCatalogProduct } from './service.ts';

export interface BacktestOptions {
  k: number;
  /** Orders placed at or after this time are the test set; default: the last 20% by time. */
  cutoff?: Date;
  rules: Rules;
  seed?: number;
}

export interface BacktestResult {
  k: number;
  cutoff: string;
  trainOrders: number;
  trials: number;
  strategies: Record<'co-purchase' | 'popularity', { hits: number; hitRate: number }>;
  /** co-purchase hit rate ÷ popularity hit rate; null when popularity had no hit. */
  improvement: number | null;
}

export async function backtest(db: Db, options: BacktestOptions): Promise<BacktestResult> {
  const orders = await orderHistory(db);
  if (orders.length < 10) throw new Error(`only ${orders.length} orders: a backtest needs a history`);
  const cutoff = options.cutoff ?? new Date(orders[Math.floor(orders.length * 0.8)]!.ordered_at);
  const catalog = indexCatalog((await allProducts(db)).map(toCatalogProduct));
  // Every product can be recommended in a backtest: stock is today's, the orders are not.
  for (const product of catalog.byId.values()) product.inStock = true;

  const counter = new CoPurchaseCounter();
  const history = new Map<number, Set<number>>();
  const own = (customer: number, items: number[]) => {
    const set = history.get(customer) ?? new Set<number>();
    for (const id of items) set.add(id);
    history.set(customer, set);
  };
  const test: typeof orders = [];
  for (const order of orders) {
    if (new Date(order.ordered_at) < cutoff) {
      counter.addBasket([...order.items]);
      own(order.customer_id, order.items);
    } else test.push(order);
  }
  const top = counter.topNeighbours(30);
  const neighbours = new Map<number, Neighbour[]>();
  for (const [id, list] of top)
    neighbours.set(
      id,
      list.map(({ productId, measures: m }) => ({ productId, ...m })),
    );
  const bestSellers = [...counter.productOrders.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, 200)
    .map(([productId, orders]) => ({ productId, orders }));
  const rules: Rules = { ...options.rules, pin: [], alwaysPair: [] };

  const random = prng(options.seed ?? 1);
  const hits = { 'co-purchase': 0, popularity: 0 };
  let trials = 0;
  for (const order of test) {
    const distinct = [...new Set(order.items)];
    if (distinct.length >= 2) {
      const hidden = distinct[Math.floor(random() * distinct.length)]!;
      const rest = distinct.filter((id) => id !== hidden);
      const owned = history.get(order.customer_id) ?? new Set<number>();
      trials += 1;
      for (const strategy of ['co-purchase', 'popularity'] as Strategy[]) {
        const result = recommend({
          orderProductIds: rest,
          ownedProductIds: owned,
          catalog,
          neighbours,
          bestSellers,
          rules,
          strategy,
          limits: { recommendations: options.k, upsells: 0 },
        });
        if (result.recommendations.some((r) => r.productId === hidden)) hits[strategy as 'co-purchase' | 'popularity'] += 1;
      }
    }
    own(order.customer_id, order.items);
  }
  const rate = (n: number) => (trials ? n / trials : 0);
  return {
    k: options.k,
    cutoff: cutoff.toISOString(),
    trainOrders: counter.totalOrders,
    trials,
    strategies: {
      'co-purchase': { hits: hits['co-purchase'], hitRate: rate(hits['co-purchase']) },
      popularity: { hits: hits.popularity, hitRate: rate(hits.popularity) },
    },
    improvement: hits.popularity ? hits['co-purchase'] / hits.popularity : null,
  };
}
