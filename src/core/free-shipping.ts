/**
 * How far an order was from free shipping (SHOP_FREE_SHIPPING_THRESHOLD), in exact money:
 * what the render context's `order.freeShipping` says and what the shipping-gap strategy
 * closes. Pure.
 */
import { toUnits } from './money.ts';

/** An order's distance to free shipping; amounts are decimal strings with at least two places. */
export interface FreeShipping {
  /** SHOP_FREE_SHIPPING_THRESHOLD: an order of at least this ships free. */
  threshold: string;
  /** What the order was short of the threshold; "0.00" when it reached it. */
  gap: string;
  /** The order reached the threshold (its shipping was free). */
  reached: boolean;
}

/** `orderTotal` and `threshold` are non-negative decimal strings (as stored, as the config accepts). */
export function freeShipping(orderTotal: string, threshold: string): FreeShipping {
  const short = toUnits(threshold) - toUnits(orderTotal);
  return { threshold: moneyText(toUnits(threshold)), gap: moneyText(short > 0n ? short : 0n), reached: short <= 0n };
}

/** Money units (1/10,000) as a decimal string of two places, or more when the amount has them: 8.5 → "8.50", 8.505 → "8.505". */
function moneyText(units: bigint): string {
  let fraction = (units % 10_000n).toString().padStart(4, '0');
  while (fraction.length > 2 && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${units / 10_000n}.${fraction}`;
}
