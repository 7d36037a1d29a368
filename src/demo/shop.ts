/**
 * A generated demo shop: a catalog in categories with tiers and planted complements
 * (an espresso machine buyer tends to buy a grinder and beans), customers, and months of
 * order history, written as CSV files in the stable input formats. Deterministic for a
 * given seed, so a demo run and its tests see the same shop.
 *
 * Customers differ as a real shop's do: some order often and most rarely (a log-normal
 * order rate), and some buy the Pro tier where others buy the Classic (a spend level). The
 * same profile drives the imported history and the replayed orders, so what a customer
 * spent before enrolling predicts what they spend after, and CUPED has signal to use.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../core/random.ts';

export interface ShopSize {
  customers: number;
  /** Days of order history before today. */
  days: number;
  ordersPerDay: number;
  seed: number;
}

interface Family {
  category: string;
  names: string[];
  basePrice: number;
  /** Categories bought with this one far more often than chance: the planted truth. */
  complements: string[];
  consumable?: boolean;
}

const FAMILIES: Family[] = [
  { category: 'espresso-machines', names: ['Espresso Machine'], basePrice: 249, complements: ['grinders', 'coffee-beans', 'milk-jugs'] },
  { category: 'grinders', names: ['Burr Grinder'], basePrice: 119, complements: ['coffee-beans', 'scales'] },
  {
    category: 'coffee-beans',
    names: ['Espresso Blend', 'Single Origin', 'Decaf Roast'],
    basePrice: 14,
    complements: ['filters'],
    consumable: true,
  },
  { category: 'milk-jugs', names: ['Milk Jug'], basePrice: 19, complements: ['thermometers'] },
  { category: 'scales', names: ['Brew Scale'], basePrice: 39, complements: ['coffee-beans'] },
  { category: 'filters', names: ['Paper Filters'], basePrice: 6, complements: ['pour-over'], consumable: true },
  { category: 'pour-over', names: ['Pour-over Dripper'], basePrice: 29, complements: ['filters', 'kettles'] },
  { category: 'kettles', names: ['Gooseneck Kettle'], basePrice: 59, complements: ['pour-over', 'scales'] },
  { category: 'thermometers', names: ['Milk Thermometer'], basePrice: 12, complements: ['milk-jugs'] },
  { category: 'tea', names: ['Green Tea', 'Black Tea', 'Herbal Tea'], basePrice: 9, complements: ['teapots'], consumable: true },
  { category: 'teapots', names: ['Glass Teapot', 'Cast Iron Teapot'], basePrice: 35, complements: ['tea', 'cups'] },
  { category: 'cups', names: ['Espresso Cup', 'Latte Mug', 'Travel Mug'], basePrice: 11, complements: ['coffee-beans', 'tea'] },
];

const TIERS = [
  { tier: 1, label: 'Classic', factor: 1 },
  { tier: 2, label: 'Plus', factor: 1.6 },
  { tier: 3, label: 'Pro', factor: 2.5 },
];

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken', 'Radia', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton', 'Thompson', 'Perlman', 'Lee'];
const ZONES = ['Europe/London', 'Europe/Paris', 'America/New_York', 'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney'];

export interface DemoProduct {
  sku: string;
  name: string;
  category: string;
  price: number;
  tier: number;
  /** Model line: accessories of the same line fit each other (the planted SKU-level truth). */
  variant: number;
}

/** The catalog: every family × name × variant × tier. */
export function demoCatalog(variants = 8): DemoProduct[] {
  const products: DemoProduct[] = [];
  FAMILIES.forEach((family, f) =>
    family.names.forEach((name, n) => {
      for (let v = 1; v <= variants; v++)
        for (const { tier, label, factor } of TIERS)
          products.push({
            sku: `${family.category.slice(0, 3).toUpperCase()}${f}-${n + 1}${v}${tier}`,
            name: `${name} ${label} No. ${v}`,
            category: family.category,
            price: Math.round(family.basePrice * factor * (0.85 + v * 0.04) * 100) / 100,
            tier,
            variant: v,
          });
    }),
  );
  return products;
}

/** The categories bought again and again: coffee, filters, tea. */
const CONSUMABLE_CATEGORIES = new Set(FAMILIES.filter((f) => f.consumable).map((f) => f.category));

/**
 * What a product costs the shop: half the price for consumables; for the rest 65% of a
 * Classic's price, 60% of a Plus's, 55% of a Pro's, so an upsell raises margin as well as
 * revenue. A fixed rule, no dice: the shop's random stream stays what it was.
 */
export function unitCost(product: Pick<DemoProduct, 'category' | 'price' | 'tier'>): number {
  const share = CONSUMABLE_CATEGORIES.has(product.category) ? 0.5 : [0.65, 0.6, 0.55][product.tier - 1]!;
  return Math.round(product.price * share * 100) / 100;
}

/** A customer's buying habits: the planted heterogeneity that CUPED's covariate picks up. */
export interface DemoCustomer {
  id: string;
  /** Order rate relative to the average customer (log-normal, mean 1). */
  frequency: number;
  /** 0 to 1: how far up the tiers this customer buys (0 always Classic, 1 always Pro). */
  level: number;
  /** For a regular (one customer in 25), the days between refills of their usual consumable. */
  refillDays?: number;
  /** Where the regular's cycle stood at the epoch, in days. */
  refillPhase?: number;
}

/** The share of customers who are regulars, refilling a consumable on their own cycle. */
const REGULAR_SHARE = 0.04;

/** The log-normal spread of order rates: σ of the rate's logarithm. */
const FREQUENCY_SIGMA = 1.0;

/** The shop's customers and their habits, from their own random stream (the same for every use of one seed). */
export function demoCustomers(count: number, seed: number): DemoCustomer[] {
  const random = prng(seed ^ 0x5eed);
  const customers: DemoCustomer[] = [];
  for (let i = 1; i <= count; i++) {
    // Box-Muller: one standard normal per customer.
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const customer: DemoCustomer = {
      id: `cust-${i}`,
      frequency: Math.exp(FREQUENCY_SIGMA * z - FREQUENCY_SIGMA ** 2 / 2),
      level: random(),
    };
    if (random() < REGULAR_SHARE) {
      customer.refillDays = 10 + random() * 15;
      customer.refillPhase = random() * customer.refillDays;
    }
    customers.push(customer);
  }
  return customers;
}

/** Draws the customer of the next order, each in proportion to their order rate. */
export function customerPicker(random: () => number, customers: DemoCustomer[]): () => DemoCustomer {
  const cumulative: number[] = [];
  let total = 0;
  for (const c of customers) cumulative.push((total += c.frequency));
  return () => {
    const target = random() * total;
    let [lo, hi] = [0, cumulative.length - 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! <= target) lo = mid + 1;
      else hi = mid;
    }
    return customers[lo]!;
  };
}

export interface BasketLine {
  product: DemoProduct;
  quantity: number;
}

/** The categories each category's buyers tend to add: the planted truth. */
export function plantedComplements(): Map<string, string[]> {
  return new Map(FAMILIES.map((f) => [f.category, f.complements]));
}

/**
 * Baskets as the shop's customers fill them. Planted truth: each complement of the first
 * product's category joins with probability 0.35, and 70% of the time it is one of the
 * same model line (the grinder that fits that machine); 15% of baskets add anything else.
 * The tier of each product follows the customer's spend level; equipment comes one at a
 * time, consumables one to three.
 */
export function basketMaker(random: () => number, catalog: DemoProduct[]): (customer: DemoCustomer) => BasketLine[] {
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const byCategory = new Map<string, DemoProduct[]>();
  for (const p of catalog) byCategory.set(p.category, [...(byCategory.get(p.category) ?? []), p]);
  // Tier 1 with (1 − level)², tier 2 with 2·level·(1 − level), tier 3 with level².
  const tierFor = (level: number) => {
    const u = random();
    return u < (1 - level) ** 2 ? 1 : u < 1 - level ** 2 ? 2 : 3;
  };
  const inTier = (products: DemoProduct[], level: number) => {
    const tier = tierFor(level);
    const chosen = pick(products);
    // The same product in the customer's tier: its sku differs in the last digit only.
    return products.find((p) => p.tier === tier && p.sku.slice(0, -1) === chosen.sku.slice(0, -1)) ?? chosen;
  };
  return (customer) => {
    const anchor = pick(FAMILIES);
    const first = inTier(byCategory.get(anchor.category)!, customer.level);
    const lines: DemoProduct[] = [first];
    for (const complement of anchor.complements)
      if (random() < 0.35) {
        const all = byCategory.get(complement)!;
        const fitting = all.filter((p) => p.variant === first.variant);
        lines.push(inTier(random() < 0.7 && fitting.length ? fitting : all, customer.level));
      }
    if (random() < 0.15) lines.push(inTier(catalog, customer.level));
    return lines.map((product) => ({ product, quantity: CONSUMABLE_CATEGORIES.has(product.category) ? 1 + Math.floor(random() * 3) : 1 }));
  };
}

/** The consumable a regular (the `index`th customer) refills: one of their tier's, by their place in the list. */
export function regularProduct(customer: DemoCustomer, index: number, catalog: readonly DemoProduct[]): DemoProduct {
  const tier = customer.level < 1 / 3 ? 1 : customer.level < 2 / 3 ? 2 : 3;
  const usual = catalog.filter((p) => CONSUMABLE_CATEGORIES.has(p.category) && p.tier === tier);
  return usual[index % usual.length]!;
}

/** One order of a regular's refill. */
export interface Refill {
  customer: DemoCustomer;
  at: number;
  lines: BasketLine[];
}

/**
 * The regulars' refills between `from` and `to` (epoch ms): every `refillDays` on a cycle
 * anchored at the epoch, give or take two days, four to six of their usual consumable in
 * their tier. The cycle is the same in the history and the run, so what a regular spent
 * before enrolling says what they will spend after: the signal CUPED uses.
 */
export function refills(
  customers: readonly DemoCustomer[],
  catalog: readonly DemoProduct[],
  from: number,
  to: number,
  random: () => number,
): Refill[] {
  const day = 86_400_000;
  const out: Refill[] = [];
  customers.forEach((customer, index) => {
    const { refillDays, refillPhase } = customer;
    if (refillDays === undefined || refillPhase === undefined) return;
    const product = regularProduct(customer, index, catalog);
    const period = refillDays * day;
    for (let k = Math.floor((from - refillPhase * day) / period); ; k++) {
      const at = refillPhase * day + k * period + (random() - 0.5) * 4 * day;
      if (at >= to + 2 * day) break;
      if (at >= from && at < to) out.push({ customer, at, lines: [{ product, quantity: 4 + Math.floor(random() * 3) }] });
    }
  });
  return out.sort((a, b) => a.at - b.at);
}

/** Writes products.csv, customers.csv and orders.csv under `dir`; returns their paths. */
export function writeDemoShop(dir: string, size: ShopSize, now: Date): { products: string; customers: string; orders: string } {
  mkdirSync(dir, { recursive: true });
  const random = prng(size.seed);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const catalog = demoCatalog();

  const products = ['sku,name,category,price,cost,url,image_url,in_stock,tier'];
  for (const p of catalog)
    products.push(
      [
        p.sku,
        p.name,
        p.category,
        p.price.toFixed(2),
        unitCost(p).toFixed(2),
        `https://shop.example/p/${p.sku}`,
        `https://shop.example/img/${p.sku}.jpg`,
        random() > 0.03,
        p.tier,
      ].join(','),
    );

  const people = demoCustomers(size.customers, size.seed);
  const customers = ['customer_id,email,first_name,last_name,timezone,accepts_marketing,consent_source'];
  people.forEach((_, index) => {
    const [first, last, i] = [pick(FIRST), pick(LAST), index + 1];
    const consent = demoConsent(i);
    customers.push(
      `cust-${i},${first.toLowerCase()}.${last.toLowerCase()}.${i}@example.com,${first},${last},${pick(ZONES)},` +
        (consent === 'unknown' ? ',' : `${consent},checkout`),
    );
  });

  const orders = ['order_id,customer_id,ordered_at,sku,quantity,unit_price'];
  const basket = basketMaker(random, catalog);
  const nextCustomer = customerPicker(random, people);
  const start = now.getTime() - size.days * 86_400_000;
  let orderNo = 0;
  for (let day = 0; day < size.days; day++)
    for (let k = 0; k < size.ordersPerDay; k++) {
      orderNo += 1;
      const at = new Date(start + day * 86_400_000 + Math.floor(random() * 86_400_000)).toISOString();
      const customer = nextCustomer();
      for (const line of basket(customer))
        orders.push(`demo-${orderNo},${customer.id},${at},${line.product.sku},${line.quantity},${line.product.price.toFixed(2)}`);
    }
  refills(people, catalog, start, now.getTime(), random).forEach((refill, n) => {
    const at = new Date(refill.at).toISOString();
    for (const line of refill.lines)
      orders.push(`demo-r${n + 1},${refill.customer.id},${at},${line.product.sku},${line.quantity},${line.product.price.toFixed(2)}`);
  });

  return {
    products: writeLines(dir, 'products.csv', products),
    customers: writeLines(dir, 'customers.csv', customers),
    orders: writeLines(dir, 'orders.csv', orders),
  };
}

/** Writes `rows` as the lines of `dir/name` (a CSV with its header first); returns the path. */
export function writeLines(dir: string, name: string, rows: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.join('\n') + '\n');
  return path;
}

/**
 * The demo's marketing consent, by customer number (not drawn, so the shop's random stream
 * is the same with or without it): one in 40 said no at checkout, one in 40 was never
 * asked (no value in the export); the rest said yes. Neither kind is ever enrolled in the
 * demo's sequences, which require consent.
 */
export function demoConsent(customerNumber: number): 'yes' | 'no' | 'unknown' {
  const r = customerNumber % 40;
  return r === 7 ? 'no' : r === 27 ? 'unknown' : 'yes';
}
