import { describe, expect, it } from 'vitest';
import { DEFAULT_RULES, indexCatalog, recommend, type CatalogProduct, type RecommendInput, type Rules } from '../src/core/recommend.ts';

const product = (id: number, category: string, price: number, tier: number | null = null, inStock = true): CatalogProduct => ({
  id,
  sku: `P${id}`,
  name: `Product ${id}`,
  category,
  price,
  tier,
  inStock,
});

// 1: the machine bought; 2–4 grinders; 5 beans (consumable); 6 tamper (out of stock);
// 10–14 machines at various prices and tiers; 20–23 mugs (best-sellers).
const catalog = indexCatalog([
  product(1, 'machines', 100, 1),
  product(2, 'grinders', 50),
  product(3, 'grinders', 60),
  product(4, 'grinders', 70),
  product(5, 'beans', 10),
  product(6, 'accessories', 20, null, false),
  product(10, 'machines', 110, 1), // 1.1×: no
  product(11, 'machines', 120, 1), // 1.2×: yes
  product(12, 'machines', 300, 1), // 3×: yes
  product(13, 'machines', 350, 1), // 3.5×: no
  product(14, 'machines', 90, 2), // cheaper but a higher tier: yes
  product(20, 'mugs', 8),
  product(21, 'mugs', 9),
  product(22, 'mugs', 10),
  product(23, 'mugs', 11),
]);

const neighbour = (productId: number, score: number, confidence = 0.2) => ({ productId, pairOrders: 10, confidence, lift: 3, score });

function input(overrides: Partial<RecommendInput> = {}, rules: Partial<Rules> = {}): RecommendInput {
  return {
    orderProductIds: [1],
    ownedProductIds: [1],
    catalog,
    neighbours: new Map([[1, [neighbour(2, 0.9, 0.23), neighbour(6, 0.8), neighbour(3, 0.7), neighbour(5, 0.6), neighbour(4, 0.5)]]]),
    bestSellers: [20, 21, 22, 23, 2].map((productId, i) => ({ productId, orders: 100 - i })),
    rules: { ...DEFAULT_RULES, consumableCategories: ['beans'], ...rules },
    strategy: 'co-purchase',
    limits: { recommendations: 4, upsells: 3 },
    ...overrides,
  };
}
const ids = (list: { productId: number }[]) => list.map((r) => r.productId);

describe('recommend', () => {
  it('ranks co-purchase neighbours, skipping out-of-stock products, with reasons that name real numbers', () => {
    const { recommendations } = recommend(input());
    expect(ids(recommendations).slice(0, 2)).toEqual([2, 3]);
    expect(recommendations[0]!.reason).toBe('Bought together with Product 1 by 23% of its buyers');
    expect(ids(recommendations)).not.toContain(6);
  });

  it('excludes what the customer owns unless it is consumable, and the order itself', () => {
    const owned = recommend(input({ ownedProductIds: [1, 2, 5] }));
    expect(ids(owned.recommendations)).not.toContain(2);
    expect(ids(owned.recommendations)).toContain(5);
    const inOrder = recommend(input({ orderProductIds: [1, 3] }));
    expect(ids(inOrder.recommendations)).not.toContain(3);
    expect(ids(inOrder.upsells)).not.toContain(3);
  });

  it('caps each category, for variety', () => {
    expect(ids(recommend(input({}, { maxPerCategory: 2 })).recommendations)).toEqual([2, 3, 5, 20]);
    // One per category: the second grinder and the second mug give way, even if that leaves fewer.
    expect(ids(recommend(input({}, { maxPerCategory: 1 })).recommendations)).toEqual([2, 5, 20]);
  });

  it('applies pins first and never suggests a banned product', () => {
    const result = recommend(
      input(
        {},
        {
          pin: [
            { sku: 'P22', whenCategory: 'machines' },
            { sku: 'P23', whenCategory: 'teapots' },
          ],
          ban: ['P2'],
        },
      ),
    );
    expect(result.recommendations[0]).toMatchObject({ productId: 22, source: 'pin' });
    expect(ids(result.recommendations)).not.toContain(2);
    expect(ids(result.recommendations)).not.toContain(23);
  });

  it('adds always-paired products when their partner is in the order', () => {
    const result = recommend(input({}, { alwaysPair: [{ sku: 'P1', with: ['P21'] }] }));
    expect(result.recommendations[0]).toMatchObject({ productId: 21, source: 'always-pair', reason: 'Made to go with your Product 1' });
  });

  it('upsells in the same category at a higher tier or 1.2–3× the price, smallest step first', () => {
    const { upsells } = recommend(input({ limits: { recommendations: 0, upsells: 10 } }));
    expect(ids(upsells)).toEqual([14, 11, 12]);
    expect(upsells[1]!.reason).toBe('A step up from your Product 1, 20% more');
    expect(upsells[0]!.reason).toBe('A step up from your Product 1 (tier 2 vs 1), 10% less');
  });

  it('falls back to best-sellers of the same category, then overall, when co-purchase has too few', () => {
    const result = recommend(input({ orderProductIds: [5], ownedProductIds: [5], neighbours: new Map() }));
    expect(result.recommendations.map((r) => [r.productId, r.source])).toEqual([
      [20, 'best-seller'],
      [21, 'best-seller'],
      [2, 'best-seller'],
    ]);
    expect(result.recommendations[0]!.reason).toBe('One of our best-sellers (100 orders)');
    const sameCategory = recommend(
      input({ orderProductIds: [20], ownedProductIds: [20], neighbours: new Map(), limits: { recommendations: 4, upsells: 0 } }),
    );
    expect(sameCategory.recommendations.slice(0, 2).map((r) => [r.productId, r.source])).toEqual([
      [21, 'category-best-seller'],
      [22, 'category-best-seller'],
    ]);
    expect(sameCategory.recommendations[0]!.reason).toBe('A best-seller in mugs (99 orders)');
  });

  it('follows the strategy a variant sets', () => {
    expect(ids(recommend(input({ strategy: 'popularity' })).recommendations)).toEqual([20, 21, 2]);
    const upsellOnly = recommend(input({ strategy: 'upsell-only' }));
    expect(upsellOnly.recommendations).toEqual([]);
    expect(ids(upsellOnly.upsells)).toEqual([14, 11, 12]);
  });
});
