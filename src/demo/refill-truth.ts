/**
 * What the demo plants of replenishment, and whether the learning finds it: each regular
 * refills their usual consumable on their own cycle (src/demo/shop.ts); the customer's own
 * rhythm that the engine learns from the orders is set beside the planted cycle, and the
 * refill timing is backtested on the replay's purchases (trained on the history before it),
 * beside a fixed delay.
 */
import {
  MIN_OWN_INTERVALS,
  REPLENISH_FALLBACK_DAYS,
  repurchaseIntervals,
  replenishBacktest,
  type Purchase,
  type ReplenishBacktest,
} from '../core/replenish.ts';
import { quantile } from '../core/decide.ts';
import type { Db } from '../db/client.ts';
import { purchases } from '../store/replenish.ts';
import { regularProduct, type DemoCustomer, type DemoProduct } from './shop.ts';

export interface RefillTruth {
  /** Regulars with a rhythm of their own in the orders (at least `MIN_OWN_INTERVALS` refills apart). */
  regulars: number;
  /** The planted cycles' range, in days. */
  plantedDays: [number, number];
  /** The mean distance, in days, between a regular's learned median interval and their planted cycle. */
  ownRhythmError: number;
  /** Refill timing scored on the replay's purchases, against the fixed delay a sequence would otherwise wait. */
  backtest: ReplenishBacktest;
}

/** The planted cycles beside what the orders say of them (pure). */
export function plantedRhythms(
  customers: readonly DemoCustomer[],
  catalog: readonly DemoProduct[],
  bought: readonly Purchase[],
): { regulars: number; plantedDays: [number, number]; ownRhythmError: number } {
  const learned = repurchaseIntervals(bought);
  const errors: number[] = [];
  const planted: number[] = [];
  customers.forEach((customer, index) => {
    if (customer.refillDays === undefined) return;
    planted.push(customer.refillDays);
    const own = learned.bySku.get(regularProduct(customer, index, catalog).sku)?.get(customer.id) ?? [];
    if (own.length >= MIN_OWN_INTERVALS) errors.push(Math.abs(quantile(own, 0.5) - customer.refillDays));
  });
  return {
    regulars: errors.length,
    plantedDays: [Math.min(...planted), Math.max(...planted)],
    ownRhythmError: errors.length ? errors.reduce((a, b) => a + b, 0) / errors.length : 0,
  };
}

/** The demo's refill truth, from every stored purchase; the backtest trains before `start` (the replay's first moment). */
export async function refillTruth(
  db: Db,
  customers: readonly DemoCustomer[],
  catalog: readonly DemoProduct[],
  start: Date,
): Promise<RefillTruth> {
  const bought = await purchases(db);
  return { ...plantedRhythms(customers, catalog, bought), backtest: replenishBacktest(bought, start, REPLENISH_FALLBACK_DAYS) };
}
