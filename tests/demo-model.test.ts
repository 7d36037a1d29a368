/**
 * The demo's planted truth, without IO: what an offered product is to a reader, the exact
 * expected worth of an email (checked against the dice the readers throw), and the shop's
 * customers, who differ in how often and how high up the tiers they buy.
 */
import { describe, expect, it } from 'vitest';
import { prng } from '../src/core/random.ts';
import { BEHAVIOUR, CLICK_CHANCE, clickChance, discountOn, expectedWorth, offerKind, type Offer } from '../src/demo/recipients.ts';
import {
  basketMaker,
  customerPicker,
  demoCatalog,
  demoCustomers,
  plantedComplements,
  refills,
  unitCost,
  type DemoProduct,
} from '../src/demo/shop.ts';

const catalog = demoCatalog();
const complements = plantedComplements();
const find = (category: string, variant: number, tier: number): DemoProduct =>
  catalog.find((p) => p.category === category && p.variant === variant && p.tier === tier)!;

describe('what an offer is to the reader', () => {
  const machine = find('espresso-machines', 3, 1);
  it('the accessory of the same model line fits; of another line it is only a complement', () => {
    expect(offerKind(find('grinders', 3, 2), [machine], complements)).toBe('fitting');
    expect(offerKind(find('grinders', 5, 1), [machine], complements)).toBe('complement');
  });
  it('a better tier of what was bought is an upgrade; anything else is other', () => {
    expect(offerKind(find('espresso-machines', 6, 3), [machine], complements)).toBe('upgrade');
    expect(offerKind(find('espresso-machines', 3, 1), [machine], complements)).toBe('other');
    expect(offerKind(find('teapots', 3, 1), [machine], complements)).toBe('other');
  });
});

describe('the expected worth of an email', () => {
  const offers: Offer[] = [
    { product: { ...find('teapots', 1, 1), price: 40 }, kind: 'other' },
    { product: { ...find('grinders', 1, 1), price: 100 }, kind: 'fitting' },
    { product: { ...find('milk-jugs', 1, 1), price: 20 }, kind: 'fitting' },
  ];

  it('is open · Σ first-click chance · buy · (price + completeSet · the fitting prices besides), by hand', () => {
    const [o, f] = [CLICK_CHANCE.other, CLICK_CHANCE.fitting];
    const { open, buy, completeSet } = BEHAVIOUR;
    const byHand =
      open *
      buy *
      (o * (40 + completeSet * 120) + (1 - o) * f * (100 + completeSet * 20) + (1 - o) * (1 - f) * f * (20 + completeSet * 100));
    expect(expectedWorth(offers).revenue).toBeCloseTo(byHand, 10);
    expect(expectedWorth([])).toEqual({ revenue: 0, margin: 0 });
  });

  it('with a 25% code: opens and clicks more, buys and completes the set more, and keeps price − cost − 25% of the price, by hand', () => {
    const code = { code: 'TY25-1', percentOff: 0.25 };
    const [o, f] = [CLICK_CHANCE.other * 1.3, Math.min(1, CLICK_CHANCE.fitting * 1.3)];
    expect([clickChance('other', code), clickChance('fitting', code), clickChance('fitting', null)]).toEqual([o, f, CLICK_CHANCE.fitting]);
    const { openWithCode: open, buyWithCode: buy, completeSetWithCode: completeSet } = BEHAVIOUR;
    const keep = (i: number) => offers[i]!.product.price * 0.75 - unitCost(offers[i]!.product);
    const [k0, k1, k2] = [keep(0), keep(1), keep(2)];
    const revenue =
      open *
      buy *
      (o * (40 + completeSet * 120) + (1 - o) * f * (100 + completeSet * 20) + (1 - o) * (1 - f) * f * (20 + completeSet * 100));
    const margin =
      open *
      buy *
      (o * (k0 + completeSet * (k1 + k2)) + (1 - o) * f * (k1 + completeSet * k2) + (1 - o) * (1 - f) * f * (k2 + completeSet * k1));
    const worth = expectedWorth(offers, code);
    expect(worth.revenue).toBeCloseTo(revenue, 10);
    expect(worth.margin).toBeCloseTo(margin, 10);
    // The code wins revenue and gives up margin against the same email without it.
    const without = expectedWorth(offers);
    expect(worth.revenue).toBeGreaterThan(without.revenue);
    expect(worth.margin).toBeLessThan(without.margin);
    expect(discountOn([offers[1]!.product, offers[2]!.product], code)).toBe(30);
    expect(discountOn([offers[1]!.product], null)).toBe(0);
  });

  it("equals the average of the readers' dice over many emails", () => {
    // The dice as Recipients throws them: open, the first offer that takes, buy, the set.
    const random = prng(11);
    const runs = 400_000;
    let total = 0;
    for (let i = 0; i < runs; i++) {
      if (random() >= BEHAVIOUR.open) continue;
      const chosen = offers.find((offer) => random() < CLICK_CHANCE[offer.kind]);
      if (!chosen || random() >= BEHAVIOUR.buy) continue;
      total += chosen.product.price;
      for (const other of offers)
        if (other !== chosen && other.kind === 'fitting' && random() < BEHAVIOUR.completeSet) total += other.product.price;
    }
    const worth = expectedWorth(offers).revenue;
    // Within four standard errors of the mean of a bounded outcome (at most $160 an email).
    expect(Math.abs(total / runs - worth)).toBeLessThan((4 * 160) / Math.sqrt(runs));
  });
});

describe("the shop's costs", () => {
  it('are half the price of a consumable, and a smaller share of the price the higher the tier', () => {
    expect(unitCost({ category: 'coffee-beans', price: 12.34, tier: 3 })).toBe(6.17);
    const machines = [1, 2, 3].map((tier) => find('espresso-machines', 1, tier));
    expect(machines.map((p) => unitCost(p) / p.price).map((r) => Math.round(r * 100) / 100)).toEqual([0.65, 0.6, 0.55]);
    // An upsell earns more margin per unit as well as more revenue.
    const margins = machines.map((p) => p.price - unitCost(p));
    expect(margins[1]).toBeGreaterThan(margins[0]!);
    expect(margins[2]).toBeGreaterThan(margins[1]!);
    for (const p of catalog) expect(Number.isInteger(Math.round(unitCost(p) * 100))).toBe(true);
  });
});

describe("the shop's customers", () => {
  const customers = demoCustomers(20_000, 7);

  it('are the same for the same seed, and differ in how often and how high they buy', () => {
    expect(demoCustomers(50, 7)).toEqual(customers.slice(0, 50));
    const mean = customers.reduce((s, c) => s + c.frequency, 0) / customers.length;
    expect(mean).toBeGreaterThan(0.95);
    expect(mean).toBeLessThan(1.05);
    const sorted = customers.map((c) => c.frequency).sort((a, b) => a - b);
    // A log-normal spread: the top tenth orders several times as often as the median customer.
    expect(sorted[Math.floor(0.9 * sorted.length)]! / sorted[Math.floor(0.5 * sorted.length)]!).toBeGreaterThan(3);
  });

  it('order in proportion to their rate, and buy higher tiers the higher their level', () => {
    const random = prng(3);
    const pick = customerPicker(random, customers);
    const basket = basketMaker(random, catalog);
    const counts = new Map<string, number>();
    const tiers = { low: [] as number[], high: [] as number[] };
    for (let i = 0; i < 40_000; i++) {
      const customer = pick();
      counts.set(customer.id, (counts.get(customer.id) ?? 0) + 1);
      const lines = basket(customer);
      if (customer.level < 0.2) tiers.low.push(lines[0]!.product.tier);
      if (customer.level > 0.8) tiers.high.push(lines[0]!.product.tier);
      for (const line of lines) {
        const consumable = ['coffee-beans', 'filters', 'tea'].includes(line.product.category);
        expect(line.quantity).toBeGreaterThanOrEqual(1);
        expect(line.quantity).toBeLessThanOrEqual(consumable ? 3 : 1);
      }
    }
    const byRate = [...customers].sort((a, b) => b.frequency - a.frequency);
    const ordersOf = (list: typeof customers) => list.reduce((s, c) => s + (counts.get(c.id) ?? 0), 0) / list.length;
    expect(ordersOf(byRate.slice(0, 2000))).toBeGreaterThan(4 * ordersOf(byRate.slice(-10_000)));
    const average = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(average(tiers.high)).toBeGreaterThan(average(tiers.low) + 1);
  });
});

describe("the regulars' refills", () => {
  const DAY = 86_400_000;
  const customers = demoCustomers(20_000, 7);
  const regulars = customers.filter((c) => c.refillDays !== undefined);

  it('one customer in 25 refills a consumable every 10 to 25 days', () => {
    expect(regulars.length / customers.length).toBeGreaterThan(0.03);
    expect(regulars.length / customers.length).toBeLessThan(0.05);
    for (const r of regulars) {
      expect(r.refillDays).toBeGreaterThanOrEqual(10);
      expect(r.refillDays).toBeLessThan(25);
    }
  });

  it('follow one cycle across the history and the run, so spend before predicts spend after', () => {
    const from = Date.UTC(2027, 0, 1);
    const before = refills(regulars, catalog, from - 90 * DAY, from, prng(1));
    const after = refills(regulars, catalog, from, from + 21 * DAY, prng(2));
    for (const r of [...before, ...after]) {
      expect(['coffee-beans', 'filters', 'tea']).toContain(r.lines[0]!.product.category);
      expect(r.lines[0]!.quantity).toBeGreaterThanOrEqual(4);
    }
    // A regular's refills in 90 days and in the 21 after are both about days / cycle.
    const count = (list: typeof before, id: string) => list.filter((r) => r.customer.id === id).length;
    for (const r of regulars.slice(0, 200)) {
      expect(Math.abs(count(before, r.id) - 90 / r.refillDays!)).toBeLessThanOrEqual(1.5);
      expect(Math.abs(count(after, r.id) - 21 / r.refillDays!)).toBeLessThanOrEqual(1.5);
    }
    expect(
      refills(
        customers.filter((c) => c.refillDays === undefined),
        catalog,
        from,
        from + 21 * DAY,
        prng(3),
      ),
    ).toEqual([]);
  });
});
