import { describe, expect, it } from 'vitest';
import { CoPurchaseCounter, measures, wilsonLower } from '../src/core/copurchase.ts';
import { prng } from '../src/core/random.ts';

function randomBaskets(seed: number, orders: number, products: number): number[][] {
  const random = prng(seed);
  return Array.from({ length: orders }, () =>
    Array.from({ length: 1 + Math.floor(random() * 6) }, () => 1 + Math.floor(random() * products)),
  );
}

describe('co-purchase statistics', () => {
  it('equal a brute-force computation exactly on random baskets', () => {
    const baskets = randomBaskets(3, 2_000, 60);
    const counter = new CoPurchaseCounter(8, 16);
    for (const basket of baskets) counter.addBasket([...basket]);

    const sets = baskets.map((b) => new Set(b));
    const N = sets.length;
    const ordersOf = (a: number) => sets.filter((s) => s.has(a)).length;
    expect(counter.totalOrders).toBe(N);
    for (let a = 1; a <= 60; a++) {
      expect(counter.productOrders[a] ?? 0).toBe(ordersOf(a));
      for (let b = 1; b <= 60; b++) {
        if (a === b) continue;
        const both = sets.filter((s) => s.has(a) && s.has(b)).length;
        expect(counter.pairOrders(a, b)).toBe(both);
        if (both === 0) continue;
        const m = measures(counter.pairOrders(a, b), counter.productOrders[a]!, counter.productOrders[b]!, counter.totalOrders);
        expect(m.support).toBe(both / N);
        expect(m.confidence).toBe(both / ordersOf(a));
        expect(m.lift).toBe(both / ordersOf(a) / (ordersOf(b) / N));
      }
    }
  });

  it('counts a product bought twice in one order once', () => {
    const counter = new CoPurchaseCounter();
    counter.addBasket([7, 7, 9, 7]);
    counter.addBasket([9, 9]);
    expect(counter.productOrders[7]).toBe(1);
    expect(counter.productOrders[9]).toBe(2);
    expect(counter.pairOrders(7, 9)).toBe(1);
    expect(counter.pairOrders(9, 7)).toBe(1);
    expect(counter.pairOrders(7, 7)).toBe(0);
  });

  it('agree between a rebuild and an incremental update, through serialisation', () => {
    const baskets = randomBaskets(11, 3_000, 200);
    const full = new CoPurchaseCounter();
    for (const b of baskets) full.addBasket([...b]);
    let incremental = new CoPurchaseCounter();
    for (const b of baskets.slice(0, 1_700)) incremental.addBasket([...b]);
    incremental = CoPurchaseCounter.deserialize(incremental.serialize());
    for (const b of baskets.slice(1_700)) incremental.addBasket([...b]);
    expect(incremental.serialize().equals(full.serialize())).toBe(true);
    expect(incremental.topNeighbours(5)).toEqual(full.topNeighbours(5));
  });

  it('are not fooled by tiny counts: a rare product bought once with A ranks below a real complement', () => {
    const counter = new CoPurchaseCounter();
    // Product 1 (a machine) in 200 orders; 2 (a grinder) with it in 70 of them and alone in 30;
    // 3 (a rarity) bought once ever, with the machine; 4 (beans) in half of all orders.
    for (let i = 0; i < 200; i++) counter.addBasket(i < 70 ? [1, 2] : i === 70 ? [1, 3] : i % 2 ? [1, 4] : [1]);
    for (let i = 0; i < 30; i++) counter.addBasket([2]);
    for (let i = 0; i < 800; i++) counter.addBasket(i % 2 ? [4] : [5]);
    const raw = (b: number) =>
      measures(counter.pairOrders(1, b), counter.productOrders[1]!, counter.productOrders[b]!, counter.totalOrders);
    expect(raw(3).lift).toBeGreaterThan(raw(2).lift); // plain lift is fooled…
    const ranked = counter
      .topNeighbours(5)
      .get(1)!
      .map((n) => n.productId);
    expect(ranked[0]).toBe(2); // …the score is not
    expect(ranked.indexOf(3)).toBeGreaterThan(ranked.indexOf(2));
  });

  it('computes the Wilson lower bound', () => {
    // Reference: Wilson score interval, 5 of 10 at 95%: [0.2366, 0.7634].
    expect(wilsonLower(5, 10)).toBeCloseTo(0.236593, 6);
    expect(wilsonLower(0, 10)).toBe(0);
    expect(wilsonLower(0, 0)).toBe(0);
  });
});
