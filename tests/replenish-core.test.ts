/**
 * Learned replenishment, without IO (issue 17, item 4, the pure part): the days between a
 * customer's repeat purchases of a product and of its category, purchases under a day apart
 * counted once, and the delay a refill email takes from them: the customer's own rhythm,
 * else the product's, else its category's, less the lead.
 */
import { describe, expect, it } from 'vitest';
import { intervalStats, repurchaseIntervals, replenishDelay, type Purchase } from '../src/core/replenish.ts';

const T0 = Date.parse('2026-01-05T10:00:00Z');
const buy = (customer: string, sku: string, category: string, day: number): Purchase => ({
  customer,
  sku,
  category,
  at: new Date(T0 + day * 86_400_000),
});

/* The planted history, and its reference from this Python (NumPy 2):
 *
 *   P = [('c1','BEAN-1','beans',0), ('c1','BEAN-1','beans',14), ('c1','BEAN-1','beans',14.5),
 *        ('c1','BEAN-1','beans',29), ('c1','BEAN-1','beans',43), ('c2','BEAN-1','beans',3),
 *        ('c2','BEAN-1','beans',24), ('c2','BEAN-2','beans',40), ('c3','BEAN-2','beans',1),
 *        ('c3','BEAN-2','beans',11), ('c3','BEAN-2','beans',22.25), ('c4','FLT-1','filters',0),
 *        ('c4','FLT-1','filters',60)]
 *   # per key and customer: sorted times, a purchase under a day after the last kept one dropped
 *   intervals(sku)  -> BEAN-1 {c1: [14, 15, 14], c2: [21]}, BEAN-2 {c3: [10, 11.25]}, FLT-1 {c4: [60]}
 *   intervals(cat)  -> beans {c1: [14, 15, 14], c2: [21, 16], c3: [10, 11.25]}, filters {c4: [60]}
 *   np.percentile(v, [50, 25, 75])   # NumPy's default, linear
 *   BEAN-1: 14.5, 14.0, 16.5   beans: 14.0, 12.625, 15.5   c1's own BEAN-1: 14.0, 14.0, 14.5
 */
const HISTORY: Purchase[] = [
  buy('c1', 'BEAN-1', 'beans', 0),
  buy('c1', 'BEAN-1', 'beans', 14),
  buy('c1', 'BEAN-1', 'beans', 14.5),
  buy('c1', 'BEAN-1', 'beans', 29),
  buy('c1', 'BEAN-1', 'beans', 43),
  buy('c2', 'BEAN-1', 'beans', 3),
  buy('c2', 'BEAN-1', 'beans', 24),
  buy('c2', 'BEAN-2', 'beans', 40),
  buy('c3', 'BEAN-2', 'beans', 1),
  buy('c3', 'BEAN-2', 'beans', 11),
  buy('c3', 'BEAN-2', 'beans', 22.25),
  buy('c4', 'FLT-1', 'filters', 0),
  buy('c4', 'FLT-1', 'filters', 60),
];
// The history shuffled: the order purchases arrive in changes nothing.
const learned = repurchaseIntervals([...HISTORY].reverse());
const SMALL = { own: 2, shop: 4 };

describe('repeat-purchase intervals', () => {
  it('are the days between consecutive purchases of one customer, a purchase under a day later counted once', () => {
    expect(Object.fromEntries(learned.bySku.get('BEAN-1')!)).toEqual({ c1: [14, 15, 14], c2: [21] });
    expect(Object.fromEntries(learned.bySku.get('BEAN-2')!)).toEqual({ c3: [10, 11.25] });
    expect(Object.fromEntries(learned.byCategory.get('beans')!)).toEqual({ c1: [14, 15, 14], c2: [21, 16], c3: [10, 11.25] });
  });

  it('summarise as NumPy does: count, median and quartiles', () => {
    expect(intervalStats([14, 15, 14, 21])).toEqual({ n: 4, median: 14.5, q1: 14, q3: 16.5 });
    expect(intervalStats([14, 15, 14, 21, 16, 10, 11.25])).toEqual({ n: 7, median: 14, q1: 12.625, q3: 15.5 });
    expect(intervalStats([])).toBeUndefined();
  });
});

describe('the delay of a refill email', () => {
  it("goes by the customer's own rhythm when they have enough of it", () => {
    expect(replenishDelay(learned, { sku: 'BEAN-1', customer: 'c1' }, SMALL)).toEqual({
      days: 14,
      source: 'customer',
      stats: { n: 3, median: 14, q1: 14, q3: 14.5 },
    });
  });

  it("else by the product's, then by its category's, and learns nothing below the minimum", () => {
    expect(replenishDelay(learned, { sku: 'BEAN-1', customer: 'c2' }, SMALL)).toMatchObject({ days: 14.5, source: 'product' });
    expect(replenishDelay(learned, { sku: 'BEAN-2' }, SMALL)).toEqual({
      days: 14,
      source: 'category',
      stats: { n: 7, median: 14, q1: 12.625, q3: 15.5 },
    });
    expect(replenishDelay(learned, { sku: 'FLT-1' }, SMALL)).toBeUndefined();
    expect(replenishDelay(learned, { sku: 'NEVER-SOLD' }, SMALL)).toBeUndefined();
    // At the shop's minimum of 20 intervals, this small history teaches nothing.
    expect(replenishDelay(learned, { sku: 'BEAN-1' })).toBeUndefined();
  });

  it('goes the lead earlier, never before the purchase', () => {
    expect(replenishDelay(learned, { sku: 'BEAN-1', leadDays: 3 }, SMALL)!.days).toBe(11.5);
    expect(replenishDelay(learned, { sku: 'BEAN-1', leadDays: 30 }, SMALL)!.days).toBe(0);
  });
});
