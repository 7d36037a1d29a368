import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { DEFAULT_RULES, indexCatalog, recommend, type CatalogProduct, type RecommendInput } from '../src/core/recommend.ts';

const product = (id: number, category: string, price: number, extra: Partial<CatalogProduct> = {}): CatalogProduct => ({
  id,
  sku: `P${id}`,
  name: `Product ${id}`,
  category,
  price,
  tier: null,
  inStock: true,
  ...extra,
});
const ids = (list: { productId: number }[]) => list.map((r) => r.productId);
const neighbour = (productId: number, score: number) => ({ productId, pairOrders: 10, confidence: 0.2, lift: 3, score });

describe('shipping-gap', () => {
  // 1, the machine bought; its neighbours 2 (a grinder) and 30–33 (cleaning and a tamper), best
  // first; 20–22 mugs, the best-sellers.
  const catalog = indexCatalog([
    product(1, 'machines', 100),
    product(2, 'grinders', 50),
    product(30, 'cleaning', 5),
    product(31, 'cleaning', 9),
    product(32, 'tampers', 12),
    product(33, 'cleaning', 8.5),
    product(20, 'mugs', 8),
    product(21, 'mugs', 9),
    product(22, 'mugs', 30),
  ]);
  const input = (overrides: Partial<RecommendInput> = {}): RecommendInput => ({
    orderProductIds: [1],
    ownedProductIds: [1],
    catalog,
    neighbours: new Map([[1, [neighbour(2, 0.9), neighbour(30, 0.8), neighbour(31, 0.7), neighbour(32, 0.6), neighbour(33, 0.5)]]]),
    bestSellers: [20, 21, 22].map((productId, i) => ({ productId, orders: 100 - i })),
    rules: DEFAULT_RULES,
    strategy: 'shipping-gap',
    limits: { recommendations: 4, upsells: 0 },
    freeShipping: { orderTotal: '111.50', threshold: '120', currency: 'USD' },
    ...overrides,
  });

  it('ranks first what closes the gap, the cheapest first, with the gap in words', () => {
    const { recommendations } = recommend(input());
    // $8.50 short: 33 at exactly $8.50 closes it, then 31 ($9), 32 ($12), 2 ($50); 30 ($5) does not.
    expect(ids(recommendations)).toEqual([33, 31, 32, 2]);
    expect(recommendations.map((r) => r.source)).toEqual(['shipping-gap', 'shipping-gap', 'shipping-gap', 'shipping-gap']);
    expect(recommendations[0]!.reason).toBe('Adds the $8.50 your order was short of free shipping');
  });

  it('takes closers from the co-purchase candidates, then the best-sellers, then co-purchase as usual', () => {
    const { recommendations } = recommend(input({ freeShipping: { orderTotal: '111.50', threshold: '140', currency: 'EUR' } }));
    // $28.50 short: the grinder among the neighbours, the $30 mug among the best-sellers, then co-purchase.
    expect(recommendations.map((r) => [r.productId, r.source])).toEqual([
      [2, 'shipping-gap'],
      [22, 'shipping-gap'],
      [30, 'co-purchase'],
      [31, 'co-purchase'],
    ]);
    expect(recommendations[1]!.reason).toBe('Adds the €28.50 your order was short of free shipping');
  });

  it('is exactly co-purchase without a threshold, or when the order reached it', () => {
    const coPurchase = recommend(input({ strategy: 'co-purchase' }));
    expect(ids(coPurchase.recommendations)).toEqual([2, 30, 31, 32]);
    for (const freeShipping of [
      undefined,
      { orderTotal: '111.50', threshold: undefined, currency: 'USD' },
      { orderTotal: '120.00', threshold: '120', currency: 'USD' },
      { orderTotal: '150', threshold: '120', currency: 'USD' },
    ])
      expect(recommend(input({ freeShipping }))).toEqual(coPurchase);
  });
});

describe('new-arrivals', () => {
  const at = (iso: string) => ({ firstSeenAt: new Date(iso) });
  const now = new Date('2026-12-06T12:00:00.000Z');
  // The customer bought beans (40) before and a machine (1) now. New in their categories:
  // 41, 42 (first seen exactly 30 days ago), 44; not new: 43 (30 days and a millisecond ago),
  // 46 (first seen after now), 47 (out of stock), 45 (teapots, a category they never bought).
  const catalog = indexCatalog([
    product(1, 'machines', 100, at('2025-01-01T00:00:00Z')),
    product(40, 'beans', 12, at('2025-01-01T00:00:00Z')),
    product(41, 'beans', 14, at('2026-12-01T02:00:00.000Z')),
    product(42, 'beans', 15, at('2026-11-06T12:00:00.000Z')),
    product(43, 'beans', 16, at('2026-11-06T11:59:59.999Z')),
    product(44, 'machines', 300, at('2026-12-05T08:00:00.000Z')),
    product(45, 'teapots', 40, at('2026-12-05T09:00:00.000Z')),
    product(46, 'beans', 13, at('2026-12-06T12:00:00.001Z')),
    product(47, 'machines', 200, { ...at('2026-12-04T00:00:00.000Z'), inStock: false }),
    product(20, 'mugs', 8, at('2025-01-01T00:00:00Z')),
  ]);
  const input = (overrides: Partial<RecommendInput> = {}): RecommendInput => ({
    orderProductIds: [1],
    ownedProductIds: [1, 40],
    catalog,
    neighbours: new Map(),
    bestSellers: [{ productId: 20, orders: 50 }],
    rules: DEFAULT_RULES,
    strategy: 'new-arrivals',
    limits: { recommendations: 4, upsells: 0 },
    newArrivals: { now, days: 30, timeZone: 'UTC' },
    ...overrides,
  });

  it('suggests products first seen in the last N days in the categories the customer buys, newest first', () => {
    const { recommendations } = recommend(input());
    expect(recommendations.map((r) => [r.productId, r.source])).toEqual([
      [44, 'new-arrival'],
      [41, 'new-arrival'],
      [42, 'new-arrival'],
      [20, 'best-seller'],
    ]);
    expect(recommendations.map((r) => r.reason).slice(0, 3)).toEqual([
      'New in machines since 5 December',
      'New in beans since 1 December',
      'New in beans since 6 November',
    ]);
  });

  it('never takes a new arrival as an upsell: it is the point of the strategy', () => {
    // 44 ($300) is a step up from the $100 machine bought, and new.
    expect(ids(recommend(input({ strategy: 'co-purchase', limits: { recommendations: 4, upsells: 2 } })).upsells)).toEqual([44]);
    const { recommendations, upsells } = recommend(input({ limits: { recommendations: 4, upsells: 2 } }));
    expect(upsells).toEqual([]);
    expect(ids(recommendations)).toEqual([44, 41, 42, 20]);
  });

  it('counts the N days from the engine clock it is given, to the millisecond', () => {
    const later = recommend(input({ newArrivals: { now: new Date(now.getTime() + 1), days: 30, timeZone: 'UTC' } }));
    expect(ids(later.recommendations)).toEqual([46, 44, 41, 20]);
    // 41 was first seen 5 days and 10 hours before now.
    expect(ids(recommend(input({ newArrivals: { now, days: 6, timeZone: 'UTC' } })).recommendations)).toEqual([44, 41, 20]);
    expect(ids(recommend(input({ newArrivals: { now, days: 5, timeZone: 'UTC' } })).recommendations)).toEqual([44, 20]);
  });

  it('writes the day in the zone it is given', () => {
    const { recommendations } = recommend(input({ newArrivals: { now, days: 30, timeZone: 'America/New_York' } }));
    expect(recommendations[1]!.reason).toBe('New in beans since 30 November');
  });

  it('falls back to best-sellers of the order’s categories, then overall, when nothing is new', () => {
    const none = recommend(input({ newArrivals: undefined }));
    expect(none.recommendations.map((r) => [r.productId, r.source])).toEqual([[20, 'best-seller']]);
    // A day back nothing is new: the machine best-seller first (the order's category), then the mug.
    const sameCategory = recommend(
      input({
        newArrivals: { now, days: 1, timeZone: 'UTC' },
        bestSellers: [
          { productId: 20, orders: 9 },
          { productId: 44, orders: 8 },
        ],
      }),
    );
    expect(sameCategory.recommendations.map((r) => [r.productId, r.source])).toEqual([
      [44, 'category-best-seller'],
      [20, 'best-seller'],
    ]);
  });
});

describe('the settings', () => {
  it('reads SHOP_FREE_SHIPPING_THRESHOLD and NEW_ARRIVALS_DAYS, refusing bad values by name', () => {
    const config = loadConfig({ SHOP_FREE_SHIPPING_THRESHOLD: '49.99', NEW_ARRIVALS_DAYS: '14' });
    expect([config.shop.freeShippingThreshold, config.newArrivalsDays]).toEqual(['49.99', 14]);
    const defaults = loadConfig({ SHOP_FREE_SHIPPING_THRESHOLD: '' });
    expect([defaults.shop.freeShippingThreshold, defaults.newArrivalsDays]).toEqual([undefined, 30]);
    expect(() => loadConfig({ SHOP_FREE_SHIPPING_THRESHOLD: 'free' })).toThrow(/SHOP_FREE_SHIPPING_THRESHOLD: must be an amount/);
    expect(() => loadConfig({ SHOP_FREE_SHIPPING_THRESHOLD: '0' })).toThrow(/SHOP_FREE_SHIPPING_THRESHOLD: must be above 0/);
    expect(() => loadConfig({ NEW_ARRIVALS_DAYS: '0' })).toThrow(/NEW_ARRIVALS_DAYS/);
    expect(() => loadConfig({ NEW_ARRIVALS_DAYS: '2.5' })).toThrow(/NEW_ARRIVALS_DAYS: must be a whole number of days/);
  });
});
