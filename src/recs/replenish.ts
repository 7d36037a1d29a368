/**
 * Learned replenishment as the engine and the CLI use it: the refill of an order (what is
 * stored, src/store/replenish.ts, decided by the pure core, src/core/replenish.ts), and the
 * backtest over the stored history.
 */
import { orderReplenish, repeatGaps, replenishBacktest, type ReplenishBacktest, type ReplenishDelay } from '../core/replenish.ts';
import type { Db } from '../db/client.ts';
import { orderRefillKnowledge, purchases } from '../store/replenish.ts';

/**
 * When the products of order `orderId` are typically bought again: the first of them to run
 * out, by the customer's own rhythm, the product's or its category's (no lead: each refill
 * step takes its own). Undefined when nothing is learned of any of them.
 */
export async function orderRefill(db: Db, orderId: number): Promise<(ReplenishDelay & { sku: string }) | undefined> {
  const lines = await orderRefillKnowledge(db, orderId);
  return orderReplenish(lines.map((l) => ({ sku: l.sku, known: { ...l.known, own: repeatGaps(l.times) } })));
}

/** The replenishment backtest over the whole stored history (src/core/replenish.ts `replenishBacktest`). */
export async function refillBacktest(db: Db, options: { cutoff: Date; fixedDays: number }): Promise<ReplenishBacktest> {
  return replenishBacktest(await purchases(db), options.cutoff, options.fixedDays);
}
